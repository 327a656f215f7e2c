"""The PostgreSQL + pgvector backend (needs ``psycopg``: ``pip install 'embedlab[postgres]'``)."""

from embedlab.store.backend.postgres.database import POSTGRES_PIP, PostgresDatabase

__all__ = ["POSTGRES_PIP", "PostgresDatabase"]
