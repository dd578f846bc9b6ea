"""Hostile input refused before it costs anything: JSON and YAML read under bounds on size,
nesting depth and (YAML) alias expansion, each refusal a sentence naming the limit.

- ``load_json(data, max_bytes=, max_depth=)``: the size first (``TooLarge``, HTTP 413), then the
  nesting, counted on the text with its strings blanked out, before ``json.loads`` (whose C
  parser would otherwise recurse until a ``RecursionError``): ``TooDeep`` (400).
- ``load_yaml(text, max_depth=, max_nodes=)``: composed into a node graph (no Python object
  built yet), then measured with every alias expanded, as a consumer walking the result would
  see it: an alias bomb (``&a [*b, *b, ...]`` ten levels deep: a billion nodes from a kilobyte)
  is ``TooMany`` within milliseconds, a structure that contains itself too; only then built by
  ``yaml.SafeLoader`` (no Python tags).

Both are CPU work: call them from a sync view or a worker thread, never on the event loop.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml


class InputRefused(ValueError):
    """Input over a limit: ``message`` says which, ``status`` is the HTTP answer."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TooLarge(InputRefused):
    status = 413


class TooDeep(InputRefused):
    status = 400


class TooMany(InputRefused):
    status = 400


class Malformed(InputRefused):
    """Not valid JSON: ``problem`` is the parser's own words, ``line`` and ``column`` (from 1)
    where it stopped, when it says."""

    status = 400

    def __init__(self, message: str, *, problem: str = "", line: int = 0, column: int = 0):
        super().__init__(message)
        self.problem, self.line, self.column = problem, line, column


def size_in_words(n: int) -> str:
    """``4194304`` -> ``4 MiB``, ``262144`` -> ``256 KiB``, ``2621440`` -> ``2.5 MiB``,
    ``1000`` -> ``1,000 bytes``."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n:,} bytes"


# --- JSON ---------------------------------------------------------------------------------------

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPENERS = frozenset(b"[{")
_BRACKETS = re.compile(rb"[\[\]{}]")


def json_depth(data: bytes) -> int:
    """How deep the arrays and objects of this JSON text nest (strings do not count)."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(_JSON_STRING.sub(b'""', data)):
        if match.group()[0] in _OPENERS:
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def load_json(data: bytes | str, *, max_bytes: int, max_depth: int) -> Any:
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if len(raw) > max_bytes:
        raise TooLarge(f"the body is {size_in_words(len(raw))}; at most {size_in_words(max_bytes)}")
    depth = json_depth(raw)
    if depth > max_depth:
        raise TooDeep(f"the JSON nests {depth:,} levels deep; at most {max_depth} levels")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise Malformed(
            f"not valid JSON: {str(error)[:200]}",
            problem=error.msg,
            line=error.lineno,
            column=error.colno,
        ) from None
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise Malformed(f"not valid JSON: {str(error)[:200]}") from None


# --- YAML ---------------------------------------------------------------------------------------


def load_yaml(text: str, *, max_depth: int, max_nodes: int) -> Any:
    """YAML (JSON too) to Python data, refused when nested deeper than ``max_depth`` or when
    it would be more than ``max_nodes`` values once its aliases are expanded."""
    if json_depth(text.encode()) > 4 * max_depth:  # flow brackets, cheaply, before PyYAML
        raise _too_deep(max_depth)
    # libyaml composes ten times faster (and holds the GIL ten times shorter); its depth is then
    # checked on the composed graph, the flow brackets having been counted above
    loader = yaml.CSafeLoader(text) if yaml.__with_libyaml__ else _DepthBoundLoader(text, max_depth)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise _too_deep(max_depth) from None
        if node is None:
            return None
        _measure(node, max_depth=max_depth, max_nodes=max_nodes)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _too_deep(max_depth: int) -> TooDeep:
    return TooDeep(f"the YAML nests more than {max_depth} levels deep; at most {max_depth} levels")


class _DepthBoundLoader(yaml.SafeLoader):
    """Stops composing at the first node deeper than ``max_depth``: PyYAML's scanner is
    quadratic in the nesting of flow collections (5,000 ``[`` cost seconds), so the depth is
    refused while reading, before the rest is scanned."""

    def __init__(self, text: str, max_depth: int):
        super().__init__(text)
        self.max_depth, self.depth = max_depth, 0

    def compose_node(self, parent, index):
        self.depth += 1
        try:
            if self.depth > self.max_depth:
                raise _too_deep(self.max_depth)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _children(node) -> list:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _measure(root, *, max_depth: int, max_nodes: int) -> None:
    """Expanded size and depth of a node graph (aliases make it a graph: a node may be reached
    many times), memoised per node, without recursion."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            on_path.discard(key)
            if size[key] > max_nodes:
                raise TooMany(
                    f"the YAML expands to more than {max_nodes:,} values (aliases "
                    "included); at most that many"
                )
            if depth[key] > max_depth:
                raise _too_deep(max_depth)
            continue
        if key in size:
            continue
        if key in on_path:
            raise TooMany("the YAML contains itself (an alias to an enclosing anchor)")
        on_path.add(key)
        stack.append((node, True))
        for kid in _children(node):
            if id(kid) in on_path:
                raise TooMany("the YAML contains itself (an alias to an enclosing anchor)")
            if id(kid) not in size:
                stack.append((kid, False))
        if len(on_path) > max_depth + 1:
            raise _too_deep(max_depth)
