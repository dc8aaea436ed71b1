"""The held-out set of real responses (tests/decode/heldout/cases.jsonl) as regression tests: every expected value,
written by hand from the manuals / 3GPP, must come out of modem.decode. `make bench-decode` prints the score table."""
import pytest

from modem import decode
from tests.decode.heldout.score import load_cases, lookup, same, flatten, _MISSING

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[f"{i + 1}-{c['vendor']}-{c['command']}" for i, c in enumerate(CASES)])
def test_heldout_case(case):
    result = decode(case["command"], case["response"], case["vendor"])
    for path, want in flatten(case["expected"]):
        got = lookup(result, path)
        assert got is not _MISSING, f"{path}: missing in {result!r} ({case['source']})"
        assert same(got, want), f"{path}: {got!r} != {want!r} ({case['source']})"


def test_heldout_set_size():
    assert len(CASES) >= 60 and len({c["vendor"] for c in CASES}) >= 5
