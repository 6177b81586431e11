"""YAML from users, read with a bound on what aliases can expand to.

`yaml.safe_load` builds shared objects for aliases, so a "billion laughs" file (9 levels
of 9 aliases) loads quickly, but anything that walks the result (field-path line
numbers, pydantic validation) visits every expanded value: 9^9 of them. A recursive
alias makes such walks recurse forever. Here the composed node graph is measured before
anything is built: the expanded size is counted with memoisation (linear in the file),
and a node that contains itself is reported with its line.
"""

from __future__ import annotations

from typing import Any

import yaml

from splatcine.errors import InputError

# Values (scalars, lists, mappings) the document may expand to. Camera paths and training
# configs written by hand have tens to hundreds; a nerfstudio camera_path.json turned into
# keyframes has ~15 per keyframe, so 200k leaves room for ~10k keyframes, while walking
# 200k values takes well under a second and ~100 MB.
MAX_EXPANDED_VALUES = 200_000
# Flow collections (`[[[...]]]`) nested deeper than this are refused while scanning: PyYAML's
# scanner revisits every open level at each token (quadratic: 5000 levels took 24 s) and its
# composer recurses once per level. Paths and configs nest fewer than 10 levels.
MAX_DEPTH = 100


class _BoundedLoader(yaml.SafeLoader):
    def __init__(self, stream: str, name: str):
        super().__init__(stream)
        self.name = name

    def fetch_flow_collection_start(self, TokenClass):  # noqa: N803 (PyYAML's name)
        if self.flow_level >= MAX_DEPTH:
            raise InputError(f"{self.name}:{self.get_mark().line + 1} YAML nested too deeply "
                             f"(more than {MAX_DEPTH} levels)")  # fmt: skip
        super().fetch_flow_collection_start(TokenClass)


def load_yaml(text: str, name: str, max_values: int = MAX_EXPANDED_VALUES) -> tuple[Any, yaml.Node | None]:
    """The data of `text` and its composed node (for line numbers); `InputError` when the
    aliases expand past `max_values` values or refer to themselves. YAML syntax errors are
    raised as PyYAML's own exceptions for the caller to word."""
    loader = _BoundedLoader(text, name)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        check_expansion(node, name, max_values)
        return loader.construct_document(node), node
    finally:
        loader.dispose()


def check_expansion(root: yaml.Node, name: str, max_values: int = MAX_EXPANDED_VALUES) -> int:
    """The number of values `root` expands to, counting every alias in full (memoised)."""
    sizes: dict[int, int] = {}
    ancestors: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            ancestors.discard(id(node))
            sizes[id(node)] = size = 1 + sum(sizes[id(child)] for child in _children(node))
            if size > max_values:
                raise InputError(
                    f"{name}:{node.start_mark.line + 1} YAML aliases here expand to more than "
                    f"{max_values:,} values (an alias bomb?); write the values out instead")
            continue
        if id(node) in sizes:
            continue
        ancestors.add(id(node))
        stack.append((node, True))
        for child in _children(node):
            if id(child) in ancestors:
                raise InputError(f"{name}:{child.start_mark.line + 1} a YAML alias refers to a value that "
                                 f"contains it (a recursive alias)")  # fmt: skip
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []
