from tests.faults.catalogue import OUTCOMES, table, write_table


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not OUTCOMES:
        return
    terminalreporter.section("fault catalogue")
    terminalreporter.write_line(table(OUTCOMES))
    write_table(OUTCOMES)


import pytest  # noqa: E402

from tests.conftest import require_root  # noqa: E402


@pytest.fixture
def lab():
    """The failover lab of tests/lab (real namespaces, veth, nftables), for the scenarios that need real probes."""
    require_root()
    from tests.lab.netlab import FailoverLab
    with FailoverLab() as built:
        yield built
