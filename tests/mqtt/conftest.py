"""Fixtures for the reporter tests: a Mosquitto per test on a free port, a test PKI, agent configs."""
from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import load
from agent.mqtt.config_update import dump_toml
from tests.mqtt.broker import Broker, make_pki, require_mosquitto

FAST = {"reconnect_min_s": 0.2, "reconnect_max_s": 1.0, "state_debounce_s": 0.2, "telemetry_check_s": 0.5}


def write_config(directory: Path, broker: Broker, device: str = "dev-1", **mqtt) -> Path:
    settings = {"host": broker.host, "port": broker.port, "payload": "json", **FAST, **mqtt}
    doc = {"device": {"id": device}, "modem": {"port": "/dev/null"}, "board": {"backend": "simulated"},
           "mqtt": {k: str(v) if isinstance(v, Path) else v for k, v in settings.items()},
           "storage": {"dir": str(directory / f"store-{device}")}}
    path = directory / f"{device}.toml"
    path.write_text(dump_toml(doc))
    return path


@pytest.fixture
def broker(tmp_path):
    require_mosquitto()
    b = Broker(tmp_path / "broker").start()
    yield b
    b.stop()


@pytest.fixture
def config_for(tmp_path):
    def make(broker: Broker, device: str = "dev-1", **mqtt):
        return load(write_config(tmp_path, broker, device, **mqtt))
    return make


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"), ["dev-a", "dev-b", "fleet"])
