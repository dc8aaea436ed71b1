"""Shared test rules.

Under CI=true a skipped test fails the run: a test that needs root, Mosquitto or D-Bus must run in CI, and a skip
there would hide a missing part.
"""
import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_sessionfinish(session, exitstatus):
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"CI=true: {len(skipped)} test(s) skipped; in CI every test must run:", red=True)
        for rep in skipped:
            reporter.write_line(f"  {rep.nodeid}: {rep.longrepr[-1] if isinstance(rep.longrepr, tuple) else rep.longrepr}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def require_root():
    """Skip outside CI when not root; in CI the skip itself fails the run."""
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
