import pytest

from tests.conftest import require_root


@pytest.fixture
def lab():
    require_root()
    from tests.lab.netlab import FailoverLab
    with FailoverLab() as built:
        yield built
