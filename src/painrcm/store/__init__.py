"""The workspace's storage (an adapter around the engine): SQLAlchemy models, Alembic migrations,
imports, the database as a history source, and practice scoping."""
