"""Radio channel numbers -> operating bands, for modems that report a channel but not the band.

LTE: E-UTRA downlink EARFCN ranges, 3GPP TS 36.101 table 5.7.3-1 (N_DL = N_Offs-DL + 10 (F_DL - F_DL_low)).
NR: NR-ARFCN -> frequency (TS 38.104 5.4.2.1), then the downlink ranges of TS 38.101-1 table 5.2-1 (FR1)
and 38.101-2 table 5.2-1 (FR2). NR bands overlap (n78 lies inside n77, n1 inside n65/n66): all candidates
are returned by nr_bands_from_arfcn(), in the order of _NR_PREFERENCE (how widely each band is deployed:
n78 before n77/n48, n41 before n38/n7/n90, n1 before n66/n65, n2 before n25), and nr_band_from_arfcn()
picks the first. The modem's own band, when it prints one, always wins over this guess.
"""
from __future__ import annotations

# band: (first DL EARFCN, last DL EARFCN)
_LTE_DL_EARFCN: dict[int, tuple[int, int]] = {
    1: (0, 599), 2: (600, 1199), 3: (1200, 1949), 4: (1950, 2399), 5: (2400, 2649), 6: (2650, 2749),
    7: (2750, 3449), 8: (3450, 3799), 9: (3800, 4149), 10: (4150, 4749), 11: (4750, 4949),
    12: (5010, 5179), 13: (5180, 5279), 14: (5280, 5379), 17: (5730, 5849), 18: (5850, 5999),
    19: (6000, 6149), 20: (6150, 6449), 21: (6450, 6599), 22: (6600, 7399), 23: (7500, 7699),
    24: (7700, 8039), 25: (8040, 8689), 26: (8690, 9039), 27: (9040, 9209), 28: (9210, 9659),
    29: (9660, 9769), 30: (9770, 9869), 31: (9870, 9919), 32: (9920, 10359),
    33: (36000, 36199), 34: (36200, 36349), 35: (36350, 36949), 36: (36950, 37549), 37: (37550, 37749),
    38: (37750, 38249), 39: (38250, 38649), 40: (38650, 39649), 41: (39650, 41589), 42: (41590, 43589),
    43: (43590, 45589), 44: (45590, 46589), 45: (46590, 46789), 46: (46790, 54539), 47: (54540, 55239),
    48: (55240, 56739), 49: (56740, 58239), 50: (58240, 59089), 51: (59090, 59139), 52: (59140, 60139),
    53: (60140, 60254),
    65: (65536, 66435), 66: (66436, 67335), 67: (67336, 67535), 68: (67536, 67835), 69: (67836, 68335),
    70: (68336, 68585), 71: (68586, 68935), 72: (68936, 68985), 73: (68986, 69035), 74: (69036, 69465),
    75: (69466, 70315), 76: (70316, 70365), 85: (70366, 70545), 87: (70546, 70595), 88: (70596, 70645),
}

# Uplink EARFCNs of the FDD bands (Sierra and Telit sometimes print only the Tx channel).
_LTE_UL_EARFCN: dict[int, tuple[int, int]] = {
    1: (18000, 18599), 2: (18600, 19199), 3: (19200, 19949), 4: (19950, 20399), 5: (20400, 20649),
    7: (20750, 21449), 8: (21450, 21799), 12: (23010, 23179), 13: (23180, 23279), 14: (23280, 23379),
    17: (23730, 23849), 18: (23850, 23999), 19: (24000, 24149), 20: (24150, 24449), 25: (26040, 26689),
    26: (26690, 27039), 28: (27210, 27659), 66: (131972, 132671), 71: (133122, 133471),
}

# NR band: (DL low MHz, DL high MHz)
_NR_DL_MHZ: dict[int, tuple[float, float]] = {
    1: (2110, 2170), 2: (1930, 1990), 3: (1805, 1880), 5: (869, 894), 7: (2620, 2690), 8: (925, 960),
    12: (729, 746), 13: (746, 756), 14: (758, 768), 18: (860, 875), 20: (791, 821), 24: (1525, 1559),
    25: (1930, 1995), 26: (859, 894), 28: (758, 803), 29: (717, 728), 30: (2350, 2360), 34: (2010, 2025),
    38: (2570, 2620), 39: (1880, 1920), 40: (2300, 2400), 41: (2496, 2690), 46: (5150, 5925),
    48: (3550, 3700), 50: (1432, 1517), 51: (1427, 1432), 53: (2483.5, 2495), 65: (2110, 2200),
    66: (2110, 2200), 67: (738, 758), 70: (1995, 2020), 71: (617, 652), 74: (1475, 1518), 75: (1432, 1517),
    76: (1427, 1432), 77: (3300, 4200), 78: (3300, 3800), 79: (4400, 5000), 85: (728, 746),
    90: (2496, 2690), 91: (1427, 1432), 92: (1432, 1517), 93: (1427, 1432), 94: (1432, 1517),
    96: (5925, 7125), 101: (1900, 1910), 102: (5925, 6425), 104: (6425, 7125), 105: (612, 652),
    257: (26500, 29500), 258: (24250, 27500), 259: (39500, 43500), 260: (37000, 40000),
    261: (27500, 28350), 262: (47200, 48200),
}


def lte_band_from_earfcn(earfcn: int | None) -> int | None:
    """The E-UTRA band of a downlink (or, failing that, uplink) EARFCN; None when it fits no band."""
    if earfcn is None or earfcn < 0:
        return None
    for table in (_LTE_DL_EARFCN, _LTE_UL_EARFCN):
        for band, (lo, hi) in table.items():
            if lo <= earfcn <= hi:
                return band
    return None


def nr_arfcn_to_mhz(arfcn: int | None) -> float | None:
    """F_REF of an NR-ARFCN (TS 38.104 table 5.4.2.1-1)."""
    if arfcn is None or arfcn < 0:
        return None
    if arfcn < 600000:
        return arfcn * 0.005
    if arfcn < 2016667:
        return 3000 + 0.015 * (arfcn - 600000)
    if arfcn <= 3279165:
        return 24250.08 + 0.06 * (arfcn - 2016667)
    return None


# Deployment order for overlapping NR bands; bands not listed come after, narrowest first.
_NR_PREFERENCE = (78, 41, 77, 79, 20, 28, 71, 1, 3, 7, 8, 5, 2, 25, 66, 40, 38, 39, 34, 12, 13, 14, 18, 26, 29,
                  30, 75, 50, 48, 70, 65, 257, 258, 261, 260, 259, 262)


def nr_bands_from_arfcn(arfcn: int | None) -> list[int]:
    """Every NR band whose downlink contains the NR-ARFCN, most likely first."""
    mhz = nr_arfcn_to_mhz(arfcn)
    if mhz is None:
        return []
    hits = [band for band, (lo, hi) in _NR_DL_MHZ.items() if lo <= mhz <= hi]

    def rank(band: int) -> tuple[int, float]:
        lo, hi = _NR_DL_MHZ[band]
        pref = _NR_PREFERENCE.index(band) if band in _NR_PREFERENCE else len(_NR_PREFERENCE)
        return pref, hi - lo
    return sorted(hits, key=rank)


def nr_band_from_arfcn(arfcn: int | None) -> int | None:
    bands = nr_bands_from_arfcn(arfcn)
    return bands[0] if bands else None


def lte_band_name(band: int | None) -> str | None:
    return None if band is None else f"B{band}"


def nr_band_name(band: int | None) -> str | None:
    return None if band is None else f"n{band}"
