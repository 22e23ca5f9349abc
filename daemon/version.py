"""The installed release of seller-sentinel, for --version and /metrics."""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def release() -> str:
    """"0.1.0", or a note when the package is not installed (run from a bare checkout)."""
    try:
        return version("seller-sentinel")
    except PackageNotFoundError:
        return "unknown (not installed)"
