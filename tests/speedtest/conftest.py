import pytest

from tests.conftest import require_root


@pytest.fixture
def lab():
    """The failover lab (tests/lab/netlab.py): router, two ISPs, an "internet" namespace."""
    require_root()
    from tests.lab.netlab import FailoverLab
    with FailoverLab() as built:
        yield built


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A CA made for the test, another one, and a certificate for 127.0.0.1 and for the lab's server."""
    from tests.drills.servers import make_ca, make_server_cert
    from tests.speedtest.lab import SPEED_HOST
    d = tmp_path_factory.mktemp("tls")
    ca, other_ca = make_ca(d, "relais-speed-ca"), make_ca(d, "someone-else")
    return {"ca": str(ca[0]), "other_ca": str(other_ca[0]), "local": make_server_cert(d, ca, "127.0.0.1"),
            "lab": make_server_cert(d, ca, SPEED_HOST)}
