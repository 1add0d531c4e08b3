"""Loads the REST layer's .graphql documents, appending the fragments each one uses."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

DOCUMENTS_DIR = Path(__file__).parent / "documents"
_SPREAD = re.compile(r"\.\.\.\s*([_A-Za-z][_0-9A-Za-z]*)")
_FRAGMENT = re.compile(r"fragment\s+([_A-Za-z][_0-9A-Za-z]*)\s+on\b")


@cache
def fragments() -> dict[str, str]:
    found: dict[str, str] = {}
    for file in sorted((DOCUMENTS_DIR / "fragments").glob("*.graphql")):
        text = file.read_text()
        for name in _FRAGMENT.findall(text):
            found[name] = text
    return found


def load_document(name: str) -> str:
    """`catalog/products` -> the document text with every fragment it needs (transitively)."""
    text = (DOCUMENTS_DIR / f"{name}.graphql").read_text()
    available = fragments()
    included: dict[str, str] = {}
    pending = _SPREAD.findall(text)
    while pending:
        fragment = pending.pop()
        if fragment in included or fragment not in available:
            continue
        included[fragment] = available[fragment]
        pending.extend(_SPREAD.findall(available[fragment]))
    return "\n".join([text, *dict.fromkeys(included.values())])
