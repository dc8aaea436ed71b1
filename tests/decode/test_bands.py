"""EARFCN / NR-ARFCN to band, checked against the edges of the 36.101 / 38.101 tables."""
import pytest

from modem import bands


@pytest.mark.parametrize("earfcn,band", [
    (0, 1), (599, 1), (600, 2), (1200, 3), (1949, 3), (1950, 4), (2400, 5), (2750, 7), (3449, 7), (3450, 8),
    (5010, 12), (5180, 13), (5730, 17), (6150, 20), (6449, 20), (8040, 25), (8690, 26), (9210, 28), (9659, 28),
    (36000, 33), (37750, 38), (38650, 40), (39650, 41), (41589, 41), (41590, 42), (55240, 48), (65536, 65),
    (66436, 66), (67335, 66), (68586, 71), (68935, 71), (18300, 1), (21350, 7), (131972, 66),
])
def test_lte_band_from_earfcn(earfcn, band):
    assert bands.lte_band_from_earfcn(earfcn) == band


@pytest.mark.parametrize("earfcn", [-1, 4950, 5009, 10360, 35999, 262143, None])
def test_lte_earfcn_outside_every_band(earfcn):
    assert bands.lte_band_from_earfcn(earfcn) is None


@pytest.mark.parametrize("arfcn,mhz", [(0, 0.0), (599999, 2999.995), (600000, 3000.0), (620000, 3300.0),
                                       (2016667, 24250.08), (3279165, 99999.96)])
def test_nr_arfcn_to_frequency(arfcn, mhz):
    assert bands.nr_arfcn_to_mhz(arfcn) == pytest.approx(mhz)


@pytest.mark.parametrize("arfcn,band", [
    (627264, 78), (648768, 78), (658080, 77), (504990, 41), (528030, 41), (521232, 41), (126270, 71),
    (431000, 1), (721824, 79), (152600, 28), (160000, 20), (173800, 5), (2079167, 257), (386000, 2),
])
def test_nr_band_from_arfcn(arfcn, band):
    assert bands.nr_band_from_arfcn(arfcn) == band


def test_nr_overlaps_are_all_reported():
    assert set(bands.nr_bands_from_arfcn(643296)) == {78, 77, 48}
    assert bands.nr_bands_from_arfcn(3279166) == []
