"""Acknowledgements (999, 277CA, TA1): code explanations and matching to submitted claims."""
