"""Built-in pure detectors, one module per family (registered in pyproject.toml)."""
