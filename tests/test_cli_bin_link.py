"""After `make setup` (which `make demo` and `make test` run) `relais` is on a root shell's PATH, as the README's
commands assume (issue 12, defect 8). The Makefile runs in a copy of the checkout whose .venv is this one's, with
its link put in a temporary bin directory instead of /usr/local/bin."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from tests.conftest import require_root

ROOT = Path(__file__).resolve().parents[1]
VENV_RELAIS = Path(sys.executable).parent / "relais"


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A checkout whose .venv is already set up: `make setup` has only the link left to do."""
    if not VENV_RELAIS.exists():
        pytest.fail(f"{VENV_RELAIS} missing: the package is not installed in this venv (pip install -e .)")
    work = tmp_path / "relais"
    (work / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(ROOT / "Makefile", work)
    shutil.copy(ROOT / "pyproject.toml", work)
    os.utime(work / "pyproject.toml", (0, 0))
    (work / ".venv" / "bin" / "relais").symlink_to(VENV_RELAIS)
    (work / ".venv" / "bin" / "python").symlink_to(sys.executable)
    (work / ".venv" / ".installed").touch()
    (tmp_path / "bin").mkdir()
    return work


def make_setup(work: Path, bin_link: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", "-C", str(work), "setup", f"BIN_LINK={bin_link}"],
                          capture_output=True, text=True, timeout=60)


def shell(command: str, path_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", command], env={"PATH": f"{path_dir}:/usr/bin:/bin", "HOME": "/nonexistent"},
                          capture_output=True, text=True, timeout=60)


def test_after_make_setup_relais_is_on_a_root_shells_path(checkout):
    require_root()
    bin_dir = checkout.parent / "bin"
    assert shell("relais --version", bin_dir).returncode != 0          # not there before
    r = make_setup(checkout, bin_dir / "relais")
    assert r.returncode == 0, r.stderr
    assert f"relais: {bin_dir / 'relais'} -> {checkout}/.venv/bin/relais" in r.stdout
    r = shell("relais --version", bin_dir)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"relais {metadata.version('relais')}"
    assert make_setup(checkout, bin_dir / "relais").returncode == 0    # again: our own link, kept


def test_someone_elses_relais_is_left_alone_and_the_path_line_given(checkout):
    require_root()
    bin_dir = checkout.parent / "bin"
    theirs = bin_dir / "relais"
    theirs.write_text("#!/bin/sh\necho packaged\n")
    theirs.chmod(0o755)
    r = make_setup(checkout, theirs)
    assert r.returncode == 0, r.stderr
    assert theirs.read_text() == "#!/bin/sh\necho packaged\n"
    line = f'export PATH="{checkout}/.venv/bin:$PATH"'
    assert line in r.stdout
    r = shell(f"{line}; relais --version", bin_dir)
    assert r.stdout.strip() == f"relais {metadata.version('relais')}", r.stderr
