"""Persistence: SQLAlchemy models, engine set-up, Alembic migrations, default and demo data."""
