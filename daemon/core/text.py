"""Text that SQLite and UTF-8 can hold: JSON can smuggle in lone UTF-16 surrogates (`"\\ud800"`),
which decode to a Python str that no UTF-8 encoder accepts."""

from __future__ import annotations


def storable(text: str) -> bool:
    """Can this text be written as UTF-8 as it is?"""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def safe_text(text: str) -> str:
    """`text` with any lone surrogate written as a `\\udXXX` escape, so it can always be stored."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
