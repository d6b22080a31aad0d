"""The warehouse: PostgreSQL (embedded by default), its URL, and its migrations."""
