"""The migrations are the schema: head matches the models exactly, on this database."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from vocloop.extensions import db


def test_the_migrated_database_matches_the_models(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []
