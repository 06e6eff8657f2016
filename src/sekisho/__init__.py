"""Sekisho (関所): the governed checkpoint for a company's AI calls."""

__version__ = "0.1.0"
