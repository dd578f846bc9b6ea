"""Mistakes in scenario text said in plain words, with the line and column where they are.

``syntax_words`` turns a JSON or YAML parser's complaint into ``line 4, column 6: a list in
brackets is not closed (expected "," or "]"); it opens on line 3, column 10`` instead of the
parser's own text. ``where(text, path)`` finds the line and column of a scenario path
(``fleet.racks[0].hosts``) in the text, so a schema error can say where to look too.
"""

from __future__ import annotations

import re

import yaml

from .scenario import ScenarioError

# the parser's problem (a prefix of it) -> what to say instead
_JSON_WORDS = [
    (
        "Expecting property name enclosed in double quotes",
        "expected a key in double quotes (a comma too many?)",
    ),
    ("Expecting ',' delimiter", "expected a comma between two values"),
    ("Expecting ':' delimiter", "expected a colon after the key"),
    ("Expecting value", "expected a value (a comma too many, or a value missing?)"),
    ("Extra data", "more text after the end of the scenario"),
    ("Unterminated string", "a string is not closed (a double quote is missing)"),
    ("Invalid control character", "a line break or tab inside a string"),
    ("Invalid \\escape", "a backslash that starts no escape inside a string"),
]
_YAML_WORDS = [
    (
        "mapping values are not allowed",
        'a colon where a value was expected: check the indentation, or put a value holding ": " in quotes',
    ),
    ("found character '\\t'", "a tab: indent YAML with spaces"),
    ("found a tab character", "a tab: indent YAML with spaces"),
    ("did not find expected ',' or ']'", 'a list in brackets is not closed (expected "," or "]")'),
    ("did not find expected ',' or '}'", 'a mapping in braces is not closed (expected "," or "}")'),
    ("did not find expected key", "expected a key at this indentation: check the indentation"),
    ("did not find expected '-' indicator", 'expected a list item ("- ...") at this indentation'),
    ("could not find expected ':'", "expected a colon after a key"),
    ("found unexpected end of stream", "the text ends inside a quoted string (a quote is missing)"),
    ("found undefined alias", "an alias (*name) that no anchor (&name) defines"),
    (
        "found unknown escape character",
        "a backslash that starts no escape inside a double-quoted string",
    ),
    ("found unhashable key", "a list or mapping used as a key"),
    ("found duplicate anchor", "the same anchor (&name) defined twice"),
    (
        "found character that cannot start any token",
        "a value cannot start with this character: put it in quotes",
    ),
]
_CANNOT_START = re.compile(r"found character '(.+)' that cannot start any token")
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")  # fleet.racks[0].hosts -> fleet, racks, 0, hosts
_CHAR_AT = re.compile(r":? *(?:line \d+ column \d+ )?\(char \d+\)$")


def _plain(problem: str, table: list[tuple[str, str]]) -> str:
    problem = (problem or "").strip()
    best = max((p for p, _ in table if problem.startswith(p)), key=len, default=None)
    if best is not None:
        return dict(table)[best]
    if match := _CANNOT_START.match(problem):
        return f'a value cannot start with "{match.group(1)}": put it in quotes'
    return _CHAR_AT.sub("", problem) or "the text cannot be read here"


def json_words(problem: str, line: int, column: int) -> str:
    """A ``json`` error (its ``msg``, ``lineno``, ``colno``) in plain words, with where."""
    return f"not valid JSON: line {line}, column {column}: {_plain(problem, _JSON_WORDS)}"


def yaml_words(error: yaml.YAMLError, text: str | None = None) -> str:
    """A PyYAML error in plain words, with the line and column (counted from 1). A problem
    found at the end of the text (a bracket or a quote never closed) is said there: "at the end
    of the text, after line 2, column 21", not at PyYAML's mark one line past the last."""
    mark = getattr(error, "problem_mark", None)
    words = _plain(getattr(error, "problem", None) or str(error).split("\n")[0], _YAML_WORDS)
    if mark is None:
        return f"not valid YAML: {words}"
    where = f"line {mark.line + 1}, column {mark.column + 1}"
    if text is not None and mark.index >= len(text.rstrip()):
        lines = text.rstrip().split("\n")
        where = f"at the end of the text, after line {len(lines)}, column {len(lines[-1])}"
    context_mark = getattr(error, "context_mark", None)
    opened = ""
    context = getattr(error, "context", None) or ""
    if context_mark is not None and context.startswith(
        ("while parsing a flow", "while scanning a quoted")
    ):
        opened = f" (it starts on line {context_mark.line + 1}, column {context_mark.column + 1})"
    return f"not valid YAML: {where}: {words}{opened}"


def where(text: str, path: str) -> tuple[int, int] | None:
    """The line and column (from 1) of ``path``'s value in the text, or of the nearest part of
    it the text has (a missing key: the mapping that lacks it). None if the text is not YAML
    (JSON is) or the path does not start in it."""
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    found = None
    for name, index in _STEP.findall(path):
        step = int(index) if index else name
        if isinstance(node, yaml.MappingNode) and isinstance(step, str):
            child = next((v for k, v in node.value if getattr(k, "value", None) == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            child = node.value[step] if step < len(node.value) else None
        else:
            child = None
        if child is None:
            break
        found = node = child
    if found is None:
        return None
    return found.start_mark.line + 1, found.start_mark.column + 1


LOCATE_MAX_CHARS = 100_000  # reading a text again to find a path costs about 1 s per 2 MB


def located(error: ScenarioError, text: str) -> ScenarioError:
    """The same error, its message saying where its path is in the text (a text of at most
    ``LOCATE_MAX_CHARS``: finding it means reading the text again)."""
    if not error.path or error.path == "scenario" or len(text) > LOCATE_MAX_CHARS:
        return error
    at = where(text, error.path)
    if at is None:
        return error
    return type(error)(error.path, f"{error.message}; see line {at[0]}, column {at[1]}")
