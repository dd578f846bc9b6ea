"""One submission, one row. A page whose form makes something (the plan page's "Approve", the
new-fleet form, the sweep form) carries a one-time token in a hidden field, new on every page;
the row the form makes keeps it in a column that is unique (``""``, no token, excepted), so the
same form sent twice (a double click, a POST sent again, two requests at once) makes one row,
and the second send is led to the row the first made.

The token is a value the client sends: sent again by another visitor, or for another fleet, it
is not a double click of the same form, and is refused (``Taken``) rather than leading there.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import TypeVar

from django.db import IntegrityError, models, transaction

from . import access

TOKEN_CHARS = 32
_TOKEN = re.compile(f"[0-9a-f]{{{TOKEN_CHARS}}}")

ERROR_TAKEN = (
    "This form was already used for something else (another fleet, or another visitor): "
    "nothing was made. Reload the page and send it again."
)

Row = TypeVar("Row", bound=models.Model)


class Taken(ValueError):
    """The token already made a row for another visitor, or in another context (another fleet)."""


def new_token() -> str:
    """A page's token: a form sent with it makes at most one row."""
    return secrets.token_hex(TOKEN_CHARS // 2)


def well_formed(token: str) -> bool:
    """A token some page gave, or none (``""``); anything else is not one (a NUL, or 5,000
    characters that would be cut into another token)."""
    return token == "" or _TOKEN.fullmatch(token) is not None


def made_by(model: type[Row], field: str, token: str) -> Row | None:
    """The row this token made, if it made one. (Asked with the unique index's own condition,
    ``field != ""``: SQLite uses a partial index only then, and read every row's column, past
    megabytes of JSON, instead.)"""
    if not token:
        return None
    return model.objects.filter(**{field: token}).exclude(**{field: ""}).first()


def answers(row: models.Model, visitor: access.Visitor | None, **same) -> bool:
    """Was ``row`` made by this very form, sent by ``visitor``? ``same``: the row's fields that
    must match (``fleet_id=...``: the same token sent for another fleet is not a double click)."""
    if any(getattr(row, name) != value for name, value in same.items()):
        return False
    if visitor is None:
        return row.owner_id is None and not row.visitor_key
    return access.owns(visitor, row)


def create_once(
    create: Callable[[], Row],
    *,
    model: type[Row],
    field: str,
    token: str,
    visitor: access.Visitor | None,
    **same,
) -> Row:
    """``create()`` (which stores ``token`` in ``field``), in a transaction of its own; if the
    database's unique token refuses it (the same form sent twice, both past any check before),
    the row the token made instead, or ``Taken`` if that row answers another visitor or
    context."""
    try:
        with transaction.atomic():
            return create()
    except IntegrityError:
        earlier = made_by(model, field, token)
        if earlier is None:  # another constraint's
            raise
        if not answers(earlier, visitor, **same):
            raise Taken(ERROR_TAKEN) from None
        return earlier
