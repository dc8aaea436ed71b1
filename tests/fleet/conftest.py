"""Fixtures for the fleet side: a Mosquitto per test, a PostgreSQL per module, fleet.toml files."""
from __future__ import annotations

from pathlib import Path

import pytest

from fleet.config import FleetConfig, from_dict
from tests.fleet.postgres import Postgres
from tests.mqtt.broker import Broker, require_mosquitto

# The broker keeps every message for a consumer that is slow or away: Mosquitto's default (1000 queued
# messages per client) would drop the rest of a burst, which is the broker's limit and not what these tests check.
QUEUE_ALL = "max_queued_messages 0\nmax_queued_bytes 0\n"


@pytest.fixture
def broker(tmp_path):
    require_mosquitto()
    b = Broker(tmp_path / "broker", persistence=True, extra=QUEUE_ALL).start()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def postgres():
    pg = Postgres().start()
    yield pg
    pg.destroy()


def fleet_config(database: str, broker: Broker, group: str = "relais-fleet", client_id: str = "fleet-test",
                 **ingest) -> FleetConfig:
    doc = {"database": database,
           "mqtt": {"host": broker.host, "port": broker.port, "client_id": client_id, "group": group},
           "ingest": ingest}
    return from_dict(doc)


def write_fleet_toml(path: Path, database: str, broker: Broker, keys: Path | None = None) -> Path:
    lines = [f'database = "{database}"', "[mqtt]", f'host = "{broker.host}"', f"port = {broker.port}",
             'client_id = "fleet-cli"']
    if keys is not None:
        lines += ["[commands]", f'keys = "{keys}"', "reply_timeout_s = 15"]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """Each database the fleet supports, empty: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "fleet.db")
        return
    pg = request.getfixturevalue("postgres")
    import psycopg
    name = f"t{abs(hash(request.node.nodeid)) % 10**9}"
    with psycopg.connect(pg.url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    yield pg.url.rsplit("/", 1)[0] + "/" + name
