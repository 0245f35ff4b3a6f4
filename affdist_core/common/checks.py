"""Checks of user-supplied values and files, with errors that name the key, the value and what is accepted."""

from __future__ import annotations

import json
import math
import numbers
import os
from pathlib import Path
from typing import Any


def check_int(key: str, value: Any, minimum: int) -> int:
    """``value`` as an int if it is a whole number (int, numpy integer or integral float) >= ``minimum``;
    otherwise ValueError naming ``key``, the bound and the value."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{key}: expected an integer >= {minimum}, got {value!r} ({type(value).__name__})")
    if not (math.isfinite(value) and float(value).is_integer()) or value < minimum:
        raise ValueError(f"{key}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def read_json_object(path: str | os.PathLike, key: str, what: str) -> dict[str, Any]:
    """The JSON object in the file ``path``; ValueError naming ``key`` and the file when it does not exist,
    is not valid JSON, or holds something other than an object. ``what`` names the file's role in the message
    ("parameter file", "data spec file")."""
    path = Path(path)
    try:
        given = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{key}: {what} {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{key}: {path} is not valid JSON ({exc})") from None
    if not isinstance(given, dict):
        raise ValueError(f"{key}: {path} must hold a JSON object, got {type(given).__name__}")
    return given
