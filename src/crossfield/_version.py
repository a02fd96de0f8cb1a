"""The package version, in one place (read by pyproject via hatch? no: kept in sync by a test)."""

__version__ = "0.1.0"
