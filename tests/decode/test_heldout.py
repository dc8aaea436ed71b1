"""The held-out sets of real responses (tests/decode/heldout/cases.jsonl and set2.jsonl) as regression tests: every
expected value, written by hand from the manuals / 3GPP, must come out of modem.decode. `make bench-decode` prints the
score tables."""
import pytest

from modem import decode
from tests.decode.heldout.score import SET2, load_cases, lookup, same, flatten, _MISSING

CASES = load_cases()
SET2_CASES = load_cases(SET2)


@pytest.mark.parametrize("case", CASES + SET2_CASES,
                         ids=[f"{i + 1}-{c['vendor']}-{c['command']}" for i, c in enumerate(CASES)]
                         + [f"set2-{i + 1}-{c['vendor']}-{c['command']}" for i, c in enumerate(SET2_CASES)])
def test_heldout_case(case):
    result = decode(case["command"], case["response"], case["vendor"])
    for path, want in flatten(case["expected"]):
        got = lookup(result, path)
        assert got is not _MISSING, f"{path}: missing in {result!r} ({case['source']})"
        assert same(got, want), f"{path}: {got!r} != {want!r} ({case['source']})"


def test_heldout_set_size():
    assert len(CASES) >= 60 and len({c["vendor"] for c in CASES}) >= 5
    assert len(SET2_CASES) >= 30 and len({c["source"] for c in SET2_CASES}) >= 15


def test_set2_shares_no_source_with_set1():
    assert not {c["source"] for c in CASES} & {c["source"] for c in SET2_CASES}
