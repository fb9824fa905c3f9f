"""The test PostgreSQL server is real: a server process on a Unix socket, one fresh database per test."""

from __future__ import annotations


def test_each_test_gets_its_own_database_on_a_real_server(pg_cluster, pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()[0]
        assert int(version) >= 120000
        conn.execute("CREATE TABLE probe (x int)")
        conn.execute("INSERT INTO probe VALUES (1)")
        assert conn.execute("SELECT count(*) FROM probe").fetchone()[0] == 1
        name = conn.execute("SELECT current_database()").fetchone()[0]
    with psycopg.connect(pg_cluster.new_database(), autocommit=True) as other:
        assert other.execute("SELECT current_database()").fetchone()[0] != name
        assert other.execute("SELECT to_regclass('probe')").fetchone()[0] is None
