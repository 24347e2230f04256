"""X12 adapters: 837P claims in and out, 835 remittances in."""

from painrcm.x12.reader837 import Read837, read_837

__all__ = ["Read837", "read_837"]
