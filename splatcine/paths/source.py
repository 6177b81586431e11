"""Reading a path file with line numbers, and errors that point at `file:line field`.

PyYAML's composed node tree is walked next to the data so every field path
(`("keyframes", 2, "fov")`) knows the line it was written on. Pydantic's errors and
the builder's own checks both end up as `InputError("cameras/x.yaml:12 keyframes[2].fov: ...")`.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from splatcine.errors import InputError
from splatcine.io.yaml_safe import load_yaml
from splatcine.paths.schema import PathSpec

Loc = tuple[Any, ...]


class PathSource:
    """A parsed path file: the validated spec plus where each field was written."""

    def __init__(self, name: str, spec: PathSpec, lines: dict[Loc, int]):
        self.name = name
        self.spec = spec
        self.lines = lines

    def error(self, loc: Loc, message: str) -> InputError:
        return InputError(
            f"{self.where(loc)} {field_name(loc)}: {message}"
            if loc
            else f"{self.where(loc)} {message}"
        )

    def where(self, loc: Loc) -> str:
        return f"{self.name}:{line_of(self.lines, loc)}"


def read_source(path_yaml: Path | str, text: str | None = None) -> PathSource:
    """Parse and validate a path file (or `text` given for it). Raises `InputError`."""
    name = str(path_yaml)
    if text is None:
        try:
            text = Path(path_yaml).read_text()
        except FileNotFoundError:
            raise InputError(f"{name}: no such file") from None
        except (OSError, UnicodeDecodeError) as err:
            raise InputError(f"{name}: cannot read ({err})") from None
    try:
        data, node = load_yaml(text, name)  # aliases measured before anything walks them
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise InputError(f"{name}{line} YAML syntax error: {err.problem or err.context}") from None
    except yaml.YAMLError as err:
        raise InputError(f"{name}: YAML error: {err}") from None
    except RecursionError:
        raise InputError(f"{name}: YAML nested too deeply") from None
    if not isinstance(data, dict):
        raise InputError(
            f"{name}: a camera path is a YAML mapping (fps, duration, keyframes, moves, ...), "
            f"not {type(data).__name__}"
        )
    lines: dict[Loc, int] = {}
    _collect_lines(node, (), lines, name)
    try:
        spec = PathSpec.model_validate(data)
    except ValidationError as err:
        raise _first_error(name, err, lines) from None
    return PathSource(name, spec, lines)


def _collect_lines(node: yaml.Node, loc: Loc, lines: dict[Loc, int], name: str) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                raise InputError(
                    f"{name}:{key_node.start_mark.line + 1} {field_name(loc + (key,))}: "
                    "key given twice"
                )
            seen.add(key)
            _collect_lines(value_node, loc + (key,), lines, name)
            lines[loc + (key,)] = key_node.start_mark.line + 1  # point at the key, not its value
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _collect_lines(item, loc + (i,), lines, name)


def line_of(lines: dict[Loc, int], loc: Loc) -> int:
    """The line of `loc`, or of its nearest written ancestor."""
    loc = tuple(loc)
    while loc and loc not in lines:
        loc = loc[:-1]
    return lines.get(loc, 1)


def field_name(loc: Sequence[Any]) -> str:
    """("keyframes", 2, "fov") -> "keyframes[2].fov"."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _first_error(name: str, err: ValidationError, lines: dict[Loc, int]) -> InputError:
    detail = err.errors(include_url=False)[0]
    loc = _written_loc(tuple(detail["loc"]), lines, detail["type"])
    message = _message(detail, loc)
    where = f"{name}:{line_of(lines, loc)}"
    return InputError(f"{where} {field_name(loc)}: {message}" if loc else f"{where} {message}")


def _written_loc(loc: Loc, lines: dict[Loc, int], kind: str) -> Loc:
    """Drop pydantic's internal parts (union branch names, scalar shorthands) from a location."""
    if kind == "extra_forbidden" or (kind == "missing" and not isinstance(loc[-1], int)):
        return loc
    while loc and loc not in lines:
        loc = loc[:-1]
    return loc


def _message(detail: dict[str, Any], loc: Loc) -> str:
    kind, value = detail["type"], detail.get("input")
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if kind == "missing" and isinstance(detail["loc"][-1], int):
        return f"has too few numbers (got {value!r})"
    if kind == "missing":
        return "is required"
    if kind == "finite_number":
        return f"{value} is not a finite number"
    if kind == "literal_error":
        allowed = [
            a.strip().strip("'") for a in detail["ctx"]["expected"].replace(" or ", ", ").split(",")
        ]
        return f"{value!r} is not one of {', '.join(allowed)}" + _did_you_mean(str(value), allowed)
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        noun = "a whole number" if kind.startswith("int") else "a number"
        return f"{value!r} is not {noun}"
    if kind in ("tuple_type", "too_short", "too_long", "list_type"):
        return f"{value!r} has the wrong shape: {detail['msg'].lower()}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{value!r} should be a mapping of fields"
    if kind == "value_error":
        return str(detail["ctx"]["error"])
    return f"{detail['msg']} (got {value!r})"


def _unknown_key(loc: Loc) -> str:
    key = str(loc[-1])
    allowed = _fields_at(loc[:-1])
    text = f"unknown key '{key}'" + _did_you_mean(key, allowed)
    return text + (f" (allowed: {', '.join(allowed)})" if allowed else "")


def _did_you_mean(word: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(word.replace("-", "_"), allowed, n=1, cutoff=0.6)
    close = close or difflib.get_close_matches(word, allowed, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _fields_at(loc: Loc) -> list[str]:
    """The field names of the model found at `loc` inside PathSpec."""
    model: Any = PathSpec
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if _is_model(model) else None
        if field is None:
            return []
        model = _model_in(field.annotation)
    return list(model.model_fields) if _is_model(model) else []


def _is_model(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, BaseModel)


def _model_in(annotation: Any) -> Any:
    """The pydantic model inside `X | None` or `list[X]`, if any."""
    if _is_model(annotation):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
