"""Checks of user-supplied values and files, with errors that name the key, the value and what is accepted."""

from __future__ import annotations

import dataclasses
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


def replace_fields(record: Any, changes: dict[str, Any], what: str) -> Any:
    """``dataclasses.replace(record, **changes)`` after checking every key is a field of ``record``;
    ValueError naming the unknown keys, ``what`` ("BPNet parameter", "data spec key") and the valid keys."""
    valid = [f.name for f in dataclasses.fields(record)]
    unknown = sorted(set(changes) - set(valid))
    if unknown:
        raise ValueError(f"unknown {what}(s) {unknown}; valid keys: {valid}")
    return dataclasses.replace(record, **changes)


def existing_file(path: str | os.PathLike, what: str, fix: str = "") -> Path:
    """``path`` as a Path if it is an existing regular file; FileNotFoundError (``"PATH: no such WHAT"``) or
    ValueError (``"PATH: not a file; FIX"``) otherwise."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such {what}")
    if not path.is_file():
        raise ValueError(f"{path}: not a file" + (f"; {fix}" if fix else ""))
    return path


def path_string(key: str, value: Any) -> str:
    """``value`` (a str, an ``os.PathLike`` or None) as a path string; None becomes ``""``. ValueError naming
    ``key`` for anything else."""
    if value is None:
        return ""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise ValueError(f"{key}: expected a path string (or \"\"), got {value!r} ({type(value).__name__})")
    return value
