"""Mistakes in scenario text said in plain words with their line and column (issue #14,
section 4: "import errors with line, column and scenario path"), never the parser's own text."""

import json

import pytest

from migrationsim.fleet.scenario import ScenarioError
from migrationsim.fleet.text import parse_text
from migrationsim.fleet.text_errors import where

from .fleet_support import TINY


def refusal(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as error:
        parse_text(text)
    return error.value


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('{"name": "x",\n "seed": 1,,\n}', "not valid JSON: line 2, column 12: expected a key"),
        ('{"name": "x"\n "seed": 1}', "not valid JSON: line 2, column 2: expected a comma"),
        ('{"name": "x"} extra', "line 1, column 15: more text after the end of the scenario"),
        (
            "name: x\nfleet:\n  racks: [1, 2\n  vms: 3\n",
            'not valid YAML: line 4, column 6: a list in brackets is not closed (expected "," or '
            '"]") (it starts on line 3, column 10)',
        ),
        (
            "name: x\n\tseed: 1\n",
            "not valid YAML: line 2, column 1: a tab: indent YAML with spaces",
        ),
        ("name: x\n  seed: : 1\n", "line 2, column 7: a colon where a value was expected"),
        ('name: "abc\n', "the text ends inside a quoted string (a quote is missing)"),
        (  # found at the end: said there, not on a line 3 the text does not have
            "name: x\nfleet: {racks: [1, 2\n",
            "not valid YAML: at the end of the text, after line 2, column 20: a list in brackets "
            "is not closed",
        ),
        ("name: @x\n", "line 1, column 7: a value cannot start with this character"),
    ],
)
def test_a_syntax_error_says_where_and_what_in_plain_words(text, said):
    error = refusal(text)
    assert error.path == "scenario" and said in error.message
    for parser_words in ("Expecting", "<unicode string>", "(char ", "while parsing", "\n"):
        assert parser_words not in error.message


def test_a_schema_error_names_its_path_and_where_it_is_in_yaml():
    text = "name: x\nfleet:\n  racks:\n    - name: r\n      count: 2\n      hosts: 0\n"
    error = refusal(text)
    assert error.path == "fleet.racks[0].hosts"
    assert str(error) == "fleet.racks[0].hosts: must be > 0; see line 6, column 14"


def test_a_schema_error_in_json_says_where_too():
    bad = json.loads(json.dumps(TINY))
    bad["events"][0]["host_downtime"] = "soon"
    text = json.dumps(bad, indent=1)
    error = refusal(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if '"soon"' in row)
    assert error.path == "events[0].host_downtime" and f"see line {line}," in error.message


def test_a_missing_key_points_at_the_mapping_that_lacks_it():
    assert where("fleet:\n  racks:\n    - name: r\n", "fleet.racks[0].hosts") == (3, 7)
    assert where("name: x\n", "fleet.racks") is None
