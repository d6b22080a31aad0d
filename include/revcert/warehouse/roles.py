"""The login the certified-revenue page and API use: it can read what is published and nothing else.

The migrations create the group role `revcert_viz_reader`: select on `viz` and
on `analytics` (metrics computed from viz), and one function,
`viz.record_versions`, that returns the raw versions of a record a published
row names and nothing for any other. The page's login is a member of it and of
nothing else, so no query it sends can reach staging, the mart or
certification, and it has no role to climb back to.
"""
from __future__ import annotations

from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from revcert.warehouse.connection import connect

VIZ_READER = "revcert_viz_reader"


def ensure_viz_login(dsn: str, login: str, password: str | None = None) -> None:
    """Create (or align) `login` as a viz-only login role; set its password when given."""
    with connect(dsn, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_roles where rolname = %s", [login]).fetchone():
            conn.execute(sql.SQL("create role {} login noinherit").format(sql.Identifier(login)))
        conn.execute(sql.SQL("alter role {} login inherit nosuperuser nocreatedb nocreaterole").format(
            sql.Identifier(login)))
        conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(VIZ_READER), sql.Identifier(login)))
        if password:
            conn.execute(sql.SQL("alter role {} password {}").format(sql.Identifier(login), sql.Literal(password)))


def login_dsn(dsn: str, login: str, password: str | None = None) -> str:
    """The same database as `dsn`, logged in as `login`."""
    params = conninfo_to_dict(dsn)
    params["user"] = login
    params.pop("password", None)
    if password:
        params["password"] = password
    return make_conninfo(**params)
