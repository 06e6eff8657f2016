"""Budgets and rate limits at admission (issue 7)."""
