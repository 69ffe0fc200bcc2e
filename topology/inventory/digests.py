"""A short digest of a row's stored fields: equal digests, nothing to write (a quiet poll)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def fingerprint(fields: dict[str, Any]) -> str:
    """The digest of ``fields`` (JSON with sorted keys; times and the like as text)."""
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
