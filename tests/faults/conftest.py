from tests.faults.catalogue import OUTCOMES, table, write_table


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not OUTCOMES:
        return
    terminalreporter.section("fault catalogue")
    terminalreporter.write_line(table(OUTCOMES))
    write_table(OUTCOMES)
