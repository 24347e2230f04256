"""Remittance (835) explanation and underpayment checks. Pure engine code: no file I/O beyond
loading painrcm's own packaged data."""

from painrcm.remit.explain import EraReport, explain_remittance

__all__ = ["EraReport", "explain_remittance"]
