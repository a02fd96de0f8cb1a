"""The package version. pyproject.toml carries the same string; tests/test_public_api.py keeps them equal."""

__version__ = "0.1.0"
