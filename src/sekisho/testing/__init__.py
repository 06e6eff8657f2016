"""Test helpers that ship with Sekisho: a scripted OpenAI-compatible upstream for tests and benchmarks."""

from sekisho.testing.mock_upstream import MockUpstream

__all__ = ["MockUpstream"]
