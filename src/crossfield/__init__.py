"""crossfield: cross-field API risk hypotheses, compiled into pytest + httpx tests."""

from crossfield._version import __version__
from crossfield.spec import Api, Field, Operation, load_spec

__all__ = ["Api", "Field", "Operation", "__version__", "load_spec"]
