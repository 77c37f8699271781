"""Alembic environment: the engine comes from storage.db, never from a URL in an ini file."""

from alembic import context

from storage import community, models  # noqa: F401  (every table on Base.metadata)
from storage.base import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # `alembic` command line: build one from SHELI_DATABASE__URL or the default.
    from bot.config import load_config
    from storage.db import make_engine

    engine = make_engine(load_config().database_url)

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
