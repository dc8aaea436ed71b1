"""Real storage faults for the fault catalogue: a small tmpfs (full, read-only, 200 KiB), a file locked by another
process. Mounting needs root (the CI and lab machines run these as root); namespaces of the other tests are not
involved, each mount is a fresh directory under the test's tmp_path."""
from __future__ import annotations

import contextlib
import errno
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.faults import catalogue

def kill_at_statement(kill_at: int) -> Callable[[], int]:
    """In a forked child: SIGKILL this process at its `kill_at`-th SQL statement (sqlite's trace callback, on
    every connection opened from now on; 0: never). Returns how many statements have run so far, to count the
    write points a sweep must cover."""
    statements = 0
    real_connect = sqlite3.connect

    def tick(sql: str) -> None:
        nonlocal statements
        statements += 1
        if statements == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def connect(*args, **kwargs):
        conn = real_connect(*args, **kwargs)
        conn.set_trace_callback(tick)
        return conn

    sqlite3.connect = connect
    return lambda: statements


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    require_root()
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def remount(path: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True)


def fill(directory: Path) -> Path:
    """Write filler files until the file system says ENOSPC, to the last block; delete them to give it back."""
    for i, size in enumerate((1 << 16, 4096, 512, 1)):
        fd = os.open(directory / f"filler-{i}", os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as e:
                    assert e.errno == errno.ENOSPC, e
                    break
        finally:
            os.close(fd)
    return directory / "filler-0"


def unfill(directory: Path) -> None:
    for p in directory.glob("filler*"):
        p.unlink()


HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


@contextlib.contextmanager
def locked_by_another_process(db_file: Path) -> Iterator[subprocess.Popen]:
    """Another process holds the file with BEGIN EXCLUSIVE (a backup tool, an operator's sqlite3 shell)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(db_file)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        proc.stdin.close()
        proc.wait(10)


def eventually(predicate, timeout: float = 60.0, what: str = "") -> float:
    """Waits for something to happen (never to prove that something does not); returns how long it took."""
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.02)
    return time.monotonic() - t0


def Outcome(scenario: str, behaviour: str, emitted: int, lost: int, recovery_s: float | None,
            events: list[str] | None = None) -> catalogue.Outcome:
    """A line of the fault catalogue (tests/faults/catalogue.py) in the storage category."""
    return catalogue.Outcome("storage", scenario, behaviour, emitted, lost, recovery_s, list(events or []))
