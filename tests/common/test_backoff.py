import pytest

from common.backoff import Backoff


def test_doubles_from_initial_up_to_the_cap():
    b = Backoff(initial_s=30, max_s=600)
    assert [b.delay(n) for n in range(7)] == [30, 60, 120, 240, 480, 600, 600]


def test_full_jitter_draws_between_initial_and_the_exponential():
    b = Backoff(initial_s=1, max_s=300, jitter=1.0)
    assert b.delay(0, 0.99) == 1                         # nothing to spread at the first attempt
    assert b.delay(5, 0.0) == 32
    assert b.delay(5, 0.5) == pytest.approx(16.5)
    assert b.delay(5, 1.0) == 1
    assert b.delay(20, 0.25) == pytest.approx(300 - 0.25 * 299)


def test_partial_jitter_and_another_factor():
    b = Backoff(initial_s=2, max_s=100, factor=3, jitter=0.5)
    assert b.delay(2, 0.0) == 18
    assert b.delay(2, 1.0) == 18 - 0.5 * 16


def test_a_cap_under_the_initial_delay_wins():
    assert Backoff(initial_s=900, max_s=600).delay(0) == 600
    assert Backoff(initial_s=900, max_s=600, jitter=1).delay(3, 0.7) == 600


def test_huge_attempt_counts_stay_at_the_cap():
    assert Backoff(initial_s=0.05, max_s=5, factor=10).delay(10_000) == 5


@pytest.mark.parametrize("kwargs, word", [
    ({"initial_s": 0, "max_s": 1}, "> 0"),
    ({"initial_s": 1, "max_s": -1}, "> 0"),
    ({"initial_s": 1, "max_s": 2, "factor": 0.5}, "factor"),
    ({"initial_s": 1, "max_s": 2, "jitter": 1.5}, "jitter"),
])
def test_bad_settings_say_what_is_wrong(kwargs, word):
    with pytest.raises(ValueError, match=word):
        Backoff(**kwargs)


def test_bad_arguments_say_what_is_wrong():
    b = Backoff(1, 2)
    with pytest.raises(ValueError, match="attempt"):
        b.delay(-1)
    with pytest.raises(ValueError, match="rand"):
        b.delay(0, 2.0)
