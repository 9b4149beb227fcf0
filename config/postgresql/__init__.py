"""Django's PostgreSQL backend with the pool's connection check of config/postgresql/base.py
(settings: ENGINE ``config.postgresql`` when DATABASE_URL is a postgres:// URL)."""
