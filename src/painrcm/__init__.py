"""painrcm: code, scrub and explain interventional pain-management claims."""

__version__ = "0.1.0"
