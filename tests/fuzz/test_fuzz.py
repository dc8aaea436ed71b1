"""A short run of `make fuzz` inside `make test`: every surface, 1,500 generated inputs, nothing found."""
import pytest

from tests.fuzz.run import fuzz
from tests.fuzz.surfaces import SURFACES, Finding, assert_no_secret, SECRET_PIN


@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_surface_survives_generated_inputs(surface):
    result = fuzz(surface, 1500, seed=7)
    assert result.inputs == 1500
    assert result.clean, "\n".join(result.examples)


def test_the_secret_check_can_fail():
    with pytest.raises(Finding):
        assert_no_secret(f"AT+CPIN={SECRET_PIN}")


def test_a_crash_is_counted(monkeypatch):
    from tests.fuzz import surfaces
    monkeypatch.setitem(surfaces.SURFACES, "boom", surfaces.Surface("boom", lambda rng: 1, lambda case: 1 / 0))
    result = fuzz("boom", 3)
    assert result.crashes == 3 and not result.clean
