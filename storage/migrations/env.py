"""Alembic environment: the engine comes from storage.db (`sheli db upgrade` passes it in).

Storage imports nothing of the bot: a bare `alembic` command line names the database with
SHELI_DATABASE__URL (or `-x url=…`); `sheli db upgrade` reads the whole configuration instead.
"""

import os

from alembic import context

from storage import community, models  # noqa: F401  (every table on Base.metadata)
from storage.base import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # a bare `alembic` command line
    from storage.db import make_engine

    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get(
        "SHELI_DATABASE__URL"
    )
    if not url:
        raise SystemExit("name the database: SHELI_DATABASE__URL=… or alembic -x url=…")
    engine = make_engine(url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
