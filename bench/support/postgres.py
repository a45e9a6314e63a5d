"""A real PostgreSQL server for the test session: pgserver's binaries, on a Unix socket in a temporary folder."""

from __future__ import annotations

import uuid

import sqlalchemy as sa


class Postgres:
    def __init__(self, directory: str) -> None:
        import pgserver

        self._server = pgserver.get_server(directory, cleanup_mode="stop")
        self.admin_url = sa.engine.make_url(self._server.get_uri()).set(drivername="postgresql+psycopg2")

    def new_database(self) -> str:
        """A fresh, empty database; its SQLAlchemy URL."""
        name = f"jiwa_{uuid.uuid4().hex[:12]}"
        engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine.dispose()
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def stop(self) -> None:
        self._server.cleanup()
