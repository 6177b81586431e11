"""Reading a JSON object from a user's file, with one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from splatcine.errors import InputError


def read_json(file: Path) -> dict[str, Any]:
    try:
        doc = json.loads(Path(file).read_text())
    except FileNotFoundError:
        raise InputError(f"{file}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{file}: not valid JSON ({err})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{file}: expected a JSON object")
    return doc


