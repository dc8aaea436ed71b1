import pytest

from tests.conftest import require_root


@pytest.fixture
def lab():
    """The failover lab (tests/lab/netlab.py): router, two ISPs, an "internet" namespace."""
    require_root()
    from tests.lab.netlab import FailoverLab
    with FailoverLab() as built:
        yield built
