"""Metrics, traces and structured logs (issue 7)."""
