"""New rows written in a few plain INSERT statements: what ``services`` uses for a daemon's new
containers, networks, volumes and images.

``bulk_create`` compiles every value of every row as an SQL expression; a discovery inserts
10,000 containers of 25 columns, and that compiling was the largest part of the watcher's work.
Here each value is only prepared for the database (``get_db_prep_save``, as Django does when
it saves) and the rows go in batches the database's parameter limit allows. Only ``services``
calls this, inside its transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Model

# PostgreSQL's wire protocol carries at most 65,535 parameters; SQLite says its own limit.
MOST_PARAMETERS = 65535


def insert_rows(model: type[Model], rows: Sequence[Model], key: str) -> None:
    """INSERT ``rows`` (new objects of ``model``, each with a ``daemon``), then give each its
    primary key, found again by ``(daemon, key)``: unique for every model inserted so."""
    if not rows:
        return
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    # Identifiers from the model's own metadata, quoted; every value is a parameter.
    statement = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES "  # noqa: S608
    one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    limit = min(connection.features.max_query_params or MOST_PARAMETERS, MOST_PARAMETERS)
    batch = max(1, limit // len(fields))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            values: list[Any] = []
            for row in chunk:
                values += [
                    field.get_db_prep_save(field.pre_save(row, True), connection)
                    for field in fields
                ]
            cursor.execute(statement + ", ".join([one_row] * len(chunk)), values)
    daemons = {row.daemon_id for row in rows}  # type: ignore[attr-defined]
    keys = [getattr(row, key) for row in rows]
    found = {
        (daemon_id, value): pk
        for daemon_id, value, pk in model.objects.filter(
            daemon_id__in=daemons, **{f"{key}__in": keys}
        ).values_list("daemon_id", key, "pk")
    }
    for row in rows:
        row.pk = found[(row.daemon_id, getattr(row, key))]  # type: ignore[attr-defined]
        row._state.adding = False
        row._state.db = connection.alias
