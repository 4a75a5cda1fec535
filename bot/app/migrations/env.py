"""Alembic environment for the dbreview state store. Run through bot.app.store.migrate.upgrade(), which passes an
open connection; `alembic` on the command line also works with `-x url=...`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from bot.app.store.models import Base

VERSION_TABLE = "dbreview_alembic_version"

config = context.config
target_metadata = Base.metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
elif context.is_offline_mode():
    context.configure(
        url=context.get_x_argument(as_dictionary=True).get("url"), target_metadata=target_metadata,
        version_table=VERSION_TABLE, literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(context.get_x_argument(as_dictionary=True)["url"])
    with engine.begin() as conn:
        _run(conn)
