"""What a new user meets first: `relais --version`, an install without setuptools warnings, and set_config that
leaves the config file's mode and owner as they were (issue 12, defect 8)."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from agent.mqtt.config_update import apply, dump_toml

ROOT = Path(__file__).resolve().parents[1]


def test_version_comes_from_the_package_metadata():
    r = subprocess.run([sys.executable, "-m", "agent.cli", "--version"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"relais {metadata.version('relais')}"


@pytest.mark.slow
def test_building_the_package_gives_no_setuptools_warning(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(tmp_path), str(ROOT)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    out = r.stdout + r.stderr
    assert "Deprecat" not in out, [line for line in out.splitlines() if "Deprecat" in line]
    wheel = next(tmp_path.glob("relais-*.whl"))
    import zipfile
    with zipfile.ZipFile(wheel) as z:
        meta = next(z.read(n).decode() for n in z.namelist() if n.endswith(".dist-info/METADATA"))
    assert "License-Expression: MIT" in meta


def config_file(tmp_path: Path, mode: int) -> Path:
    doc = {"device": {"id": "dev-1"}, "modem": {"port": "/dev/null"}, "board": {"backend": "simulated"},
           "mqtt": {"host": "127.0.0.1", "payload": "json"}, "storage": {"dir": str(tmp_path / "store")}}
    path = tmp_path / "relais.toml"
    path.write_text(dump_toml(doc))
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o644, 0o600, 0o640])
def test_set_config_keeps_the_files_mode(tmp_path, mode):
    path = config_file(tmp_path, mode)
    _, changed = apply(path, {"device": {"site": "shop 12"}})
    assert changed == ["device.site"]
    assert "shop 12" in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert stat.S_IMODE(path.with_name("relais.toml.prev").stat().st_mode) == mode


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_set_config_keeps_the_files_owner(tmp_path):
    path = config_file(tmp_path, 0o644)
    os.chown(path, 65534, 65534)     # nobody:nogroup, as a config owned by a service user
    apply(path, {"device": {"site": "shop 12"}})
    st = path.stat()
    assert (st.st_uid, st.st_gid) == (65534, 65534)
    assert "shop 12" in path.read_text()
