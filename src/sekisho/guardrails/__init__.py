"""Guardrails: detectors, the engine that runs them, and what happens to what they find."""
