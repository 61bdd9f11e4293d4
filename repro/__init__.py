"""repro: evidence that a test suite ran, where, and with what result.

Kept import-free so that `repro --version` and the pytest plugin stay cheap.
"""

__version__ = "0.1.0"
