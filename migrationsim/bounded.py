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
- ``unique_keys=True`` (both): a key given twice in one mapping is ``DuplicateKey``, naming the
  key and its path (``fleet.racks[0].hosts``), not the last one silently winning.
- Both: a string (a key too) holding a lone surrogate, an escape such as ``"\\ud800"`` that is
  half a UTF-16 pair and no character, is ``NotText`` naming its path: Python reads it, but no
  page, file or terminal can write it as UTF-8 (every page showing it would fail).

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


class DuplicateKey(InputRefused):
    """A key given twice in one JSON object or YAML mapping (the parsers keep the last one and
    say nothing). ``key``: the key; ``path``: where it is (``fleet.racks[0].hosts``, the key
    alone at the top level); ``line`` and ``column`` (from 1, YAML only): where it is given the
    second time."""

    status = 400

    def __init__(self, key: Any, path: str, *, line: int = 0, column: int = 0):
        self.key, self.path, self.line, self.column = key, path, line, column
        super().__init__(f"{path}: {self.words()}")

    def words(self, name: str = "") -> str:
        """What is wrong, without the path: ``the key "hosts" is given twice (...)``."""
        of = f" of {name}" if name else ""
        if self.line:
            where = f" (again on line {self.line}, column {self.column}{of})"
        else:
            where = f" (in {name})" if name else ""
        return f'the key "{self.key}" is given twice{where}; give each key once'


class NotText(Malformed):
    """A string (or a key) holding a lone surrogate (``"\\ud800"``): ``path`` says where."""

    def __init__(self, path: str):
        self.path = path
        super().__init__(f"{path or 'the value'}: {NOT_TEXT}")


NOT_TEXT = (
    "holds a lone surrogate (an escape such as \\ud800, half of a UTF-16 pair, not a "
    "character); write the character itself"
)


def key_path(path: str, key: Any) -> str:
    """A key's path below ``path``, as the scenario's errors write it: ``fleet.racks[0].hosts``."""
    return f"{path}.{key}" if path else str(key)


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


class _TwiceGiven(dict):
    """A JSON object in which ``key`` was given twice (built as the parser would, the last one
    kept), found by ``_first_twice_given`` once the whole text is read."""

    key: Any = None


def _objects_once_each(found: list) -> Any:
    """An ``object_pairs_hook``: the object ``json`` would build, marked (and counted in
    ``found``) when a key repeats."""

    def hook(pairs: list) -> dict:
        built = dict(pairs)
        if len(built) == len(pairs):
            return built
        seen: set = set()
        marked = _TwiceGiven(built)
        marked.key = next(k for k, _ in pairs if k in seen or seen.add(k))
        found.append(marked)
        return marked

    return hook


def _first_twice_given(data: Any) -> DuplicateKey:
    """The first object (in the text's order) holding a key twice, as a ``DuplicateKey``."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, _TwiceGiven):
            return DuplicateKey(value.key, key_path(path, value.key))
        if isinstance(value, dict):
            stack.extend((key_path(path, k), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(value))))
    raise AssertionError("no object marked")  # pragma: no cover - called when one was


_TOO_MANY_DIGITS = re.compile(r"\(([\d,]+) digits\).*value has ([\d,]+) digits")


def value_error_words(error: Exception) -> str:
    """A parser's ``ValueError`` in words a reader can act on: a whole number longer than
    Python reads (``Exceeds the limit (4300 digits) for integer string conversion ...; use
    sys.set_int_max_str_digits()``) says how long it is and how long one may be."""
    said = str(error)
    if match := _TOO_MANY_DIGITS.search(said):
        limit, digits = (int(g.replace(",", "")) for g in match.groups())
        return f"a number of {digits:,} digits; at most {limit:,}"
    return said[:200]


def load_json(
    data: bytes | str, *, max_bytes: int, max_depth: int, unique_keys: bool = False
) -> Any:
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if len(raw) > max_bytes:
        raise TooLarge(f"the body is {size_in_words(len(raw))}; at most {size_in_words(max_bytes)}")
    depth = json_depth(raw)
    if depth > max_depth:
        raise TooDeep(f"the JSON nests {depth:,} levels deep; at most {max_depth} levels")
    found: list = []
    try:
        value = json.loads(
            raw, object_pairs_hook=_objects_once_each(found) if unique_keys else None
        )
    except json.JSONDecodeError as error:
        raise Malformed(
            f"not valid JSON: {str(error)[:200]}",
            problem=error.msg,
            line=error.lineno,
            column=error.colno,
        ) from None
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise Malformed(f"not valid JSON: {value_error_words(error)}") from None
    if _JSON_SURROGATE_ESCAPE.search(raw):  # only an escape makes one (the bytes are UTF-8)
        _refuse_lone_surrogates(value)  # first: a message naming such a key could not be shown
    if found:  # where: the path of the first one, walking the objects read
        raise _first_twice_given(value)
    return value


_JSON_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_YAML_SURROGATE = re.compile(r"\\(?:u|U0000)[dD][89a-fA-F]|[\ud800-\udfff]")


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _refuse_lone_surrogates(data: Any) -> None:
    """``NotText`` for the first string or key (depth first) that UTF-8 cannot encode."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise NotText(path) from None
        elif isinstance(value, dict):
            for key, item in reversed(list(value.items())):
                shown = key_path(path, _printable(key) if isinstance(key, str) else key)
                if isinstance(key, str):
                    stack.append((shown, key))
                stack.append((shown, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(value))))


# --- YAML ---------------------------------------------------------------------------------------


def load_yaml(text: str, *, max_depth: int, max_nodes: int, unique_keys: bool = False) -> Any:
    """YAML (JSON too) to Python data, refused when nested deeper than ``max_depth`` or when
    it would be more than ``max_nodes`` values once its aliases are expanded; with
    ``unique_keys``, when a mapping gives a key twice (``DuplicateKey``, the first in the text).
    A key a merge (``<<: *base``) brings in may be given again: that is what merging is for."""
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
        if unique_keys:
            _check_unique_keys(loader, node)
        value = loader.construct_document(node)
    finally:
        loader.dispose()
    if _YAML_SURROGATE.search(text):  # "\ud800" or "\U0000d800" in a double-quoted scalar
        _refuse_lone_surrogates(value)
    return value


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


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _check_unique_keys(loader, root) -> None:
    """``DuplicateKey`` for the first key (in the text) given twice in one mapping of the
    composed graph. Keys are compared as built (``1`` and ``0x1`` are one key, as in the dict
    they become); the loader keeps what it built for the document. A mapping reached again
    through an alias is checked once. Keys that are lists or mappings are left to the loader
    (it refuses them)."""
    first: DuplicateKey | None = None
    first_at: tuple[int, int] = (0, 0)
    checked: set[int] = set()
    stack: list[tuple[str, Any]] = [("", root)]
    while stack:
        path, node = stack.pop()
        if id(node) in checked:
            continue
        checked.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend((f"{path}[{i}]", kid) for i, kid in reversed(list(enumerate(node.value))))
            continue
        if not isinstance(node, yaml.MappingNode):
            continue
        seen: set = set()
        # visited in the text's order: an anchor before its aliases
        kids: list[tuple[str, Any]] = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                kids.append((path, value_node))  # a merge's mappings sit at this path
                continue
            key = loader.construct_object(key_node)
            try:
                repeated = key in seen
                seen.add(key)
            except TypeError:  # unhashable: the loader says so when it builds the mapping
                continue
            kids.append((key_path(path, key), value_node))
            mark = key_node.start_mark
            if repeated and (first is None or (mark.line, mark.column) < first_at):
                first_at = (mark.line, mark.column)
                first = DuplicateKey(
                    key, key_path(path, key), line=mark.line + 1, column=mark.column + 1
                )
        stack.extend(reversed(kids))
    if first is not None:
        raise first
