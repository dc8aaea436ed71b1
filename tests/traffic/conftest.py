import pytest

from tests.conftest import require_root


@pytest.fixture
def cell_lab():
    require_root()
    from tests.traffic.lab import CellLab
    with CellLab() as built:
        yield built
