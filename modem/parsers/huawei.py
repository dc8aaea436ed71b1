"""Huawei: ^HCSQ, ^SYSINFOEX, ^SYSINFO (ME909s, ME906s, MU709, E3372 stick mode, MH5000)."""
from __future__ import annotations

from modem.parsers.common import level, lines_with, split_fields, to_int


def _rssi(n):      # 0 = < -120 dBm, 1 = -120..-119, ..., 96 = >= -25; 255 unknown
    return level(n, 0, 96, -121, 1)


def _rsrp(n):      # 0 = < -140 dBm, 1 = -140..-139, ..., 97 = >= -44
    return level(n, 0, 97, -141, 1)


def _sinr(n):      # 0 = < -20 dB, 1 = -20..-19.8, ..., 251 = >= 30 dB  (0.2 dB steps)
    return level(n, 0, 251, -20.2, 0.2)


def _rsrq(n):      # 0 = < -19.5 dB, 1 = -19.5..-19, ..., 34 = >= -3 dB
    return level(n, 0, 34, -20, 0.5)


# ^HCSQ: <sysmode>[,<value1>[,<value2>[,<value3>[,<value4>]]]]
#   "NOSERVICE" | "GSM",<gsm_rssi> | "WCDMA",<wcdma_rssi>,<wcdma_rscp>,<wcdma_ecio> | "TD-SCDMA",<rssi>,<rscp>,<ecio>
#   | "LTE",<lte_rssi>,<lte_rsrp>,<lte_sinr>,<lte_rsrq> | "NR",<nr_rsrp>,<nr_sinr>,<nr_rsrq>   (255 = unknown)
#   rssi/rscp -121 + n dBm, rsrp -141 + n dBm, sinr -20.2 + n/5 dB, rsrq -20 + n/2 dB, ecio -32.5 + n/2 dB
#   e.g. '^HCSQ: "LTE",62,52,22,30'   '^HCSQ: "NR",87,160,12'   '^HCSQ: "NOSERVICE"'
def parse_hcsq(lines: list[str]) -> dict:
    out: dict = {}
    nr = None
    for body in lines_with(lines, "^HCSQ"):
        f = [x.upper() for x in split_fields(body)]
        v = [to_int(x) for x in f[1:]] + [None] * 4
        mode = f[0] if f else ""
        if mode == "NOSERVICE":
            out["rat"] = None
        elif mode == "GSM":
            out.update({"rat": "GSM", "rssi_dbm": _rssi(v[0])})
        elif mode in ("WCDMA", "TD-SCDMA"):
            out.update({"rat": "UMTS", "rssi_dbm": _rssi(v[0]), "rscp_dbm": level(v[1], 0, 96, -121, 1),
                        "ecio_db": level(v[2], 0, 65, -32.5, 0.5)})
        elif mode == "LTE":
            out.update({"rat": "LTE", "rssi_dbm": _rssi(v[0]), "rsrp_dbm": _rsrp(v[1]), "sinr_db": _sinr(v[2]),
                        "rsrq_db": _rsrq(v[3])})
        elif mode in ("NR", "NR5G"):
            nr = {"rsrp_dbm": _rsrp(v[0]), "sinr_db": _sinr(v[1]), "rsrq_db": _rsrq(v[2])}
    if nr is not None:
        if out.get("rat") == "LTE":
            out["lte"] = {k: out[k] for k in ("rssi_dbm", "rsrp_dbm", "sinr_db", "rsrq_db")}
            out.update({"rat": "NR5G-NSA", "nr": nr})
        else:
            out.update(nr)
            out["rat"] = "NR5G-SA"
    return out


_SYSMODE_EX = {0: None, 1: "GSM", 2: None, 3: "UMTS", 4: "UMTS", 5: None, 6: "LTE", 7: "NR5G-SA"}
# ^SYSINFO sys_mode (old 3G firmware; 17 is LTE on the E3372/E398)
_SYSMODE = {0: None, 3: "GSM", 5: "UMTS", 7: "UMTS", 15: "UMTS", 17: "LTE"}
_SUBMODE_RAT = {1: "GSM", 2: "GSM", 3: "GSM", 41: "UMTS", 42: "UMTS", 43: "UMTS", 44: "UMTS", 45: "UMTS",
                46: "UMTS", 61: "UMTS", 62: "UMTS", 63: "UMTS", 64: "UMTS", 65: "UMTS", 101: "LTE",
                111: "NR5G-SA", 112: "NR5G-NSA"}


def _service(srv_status: int | None, roam: int | None) -> str | None:
    """<srv_status> 0 no service, 1 restricted, 2 valid, 3 restricted regional, 4 power saving."""
    if srv_status == 2:
        return "roaming" if roam == 1 else "home"
    if srv_status in (1, 3):
        return "emergency"
    if srv_status in (0, 4):
        return "not_registered"
    return None


def _sim(sim_state: int | None) -> dict:
    """<sim_state> 0 invalid, 1 valid, 2/3/4 invalid for CS/PS/both, 240 ROM SIM, 255 not present."""
    if sim_state == 255:
        return {"sim_inserted": False, "sim_state": "NOT INSERTED"}
    if sim_state in (0, 2, 3, 4):
        return {"sim_inserted": True, "sim_state": "INVALID"}
    if sim_state in (1, 240):
        return {"sim_inserted": True}
    return {}


# ^SYSINFOEX: <srv_status>,<srv_domain>,<roam_status>,<sim_state>,<lock_state>,<sysmode>,<sysmode_name>,
#             <submode>,<submode_name>
#   sysmode 0 none, 1 GSM, 2 CDMA, 3 WCDMA, 4 TD-SCDMA, 5 WiMAX, 6 LTE, 7 NR; names quoted or not
#   e.g. '^SYSINFOEX:2,3,0,1,,3,"WCDMA",41,"HSPA+"'   '^SYSINFOEX: 2,4,5,1,0,3,"WCDMA",41,"HSPA+"'
def parse_sysinfoex(lines: list[str]) -> dict:
    body = (lines_with(lines, "^SYSINFOEX") or [None])[0]
    if body is None:
        return {}
    f = split_fields(body) + [""] * 9
    srv, roam, sim = to_int(f[0]), to_int(f[2]), to_int(f[3])
    mode, sub = to_int(f[5]), to_int(f[7])
    rat = _SUBMODE_RAT.get(sub) or _SYSMODE_EX.get(mode)
    out = {"registration": _service(srv, roam), "rat": rat}
    out.update(_sim(sim))
    if sub is not None and f[8]:
        out["submode"] = f[8]
    return out


# ^SYSINFO: <srv_status>,<srv_domain>,<roam_status>,<sys_mode>,<sim_state>[,<lock_state>,<sys_submode>]
#   sys_mode 0 none, 3 GSM/GPRS, 5 WCDMA, 7 GSM/WCDMA, 15 TD-SCDMA, 17 LTE
#   e.g. '^SYSINFO:2,4,5,3,1'   '^SYSINFO:2,4,5,3,1,,6'   '^SYSINFO: 2,3,0,17,1,,0'  (MU709, E3372)
def parse_sysinfo(lines: list[str]) -> dict:
    body = (lines_with(lines, "^SYSINFO") or [None])[0]
    if body is None:
        return {}
    f = split_fields(body) + [""] * 7
    srv, roam, mode, sim = to_int(f[0]), to_int(f[2]), to_int(f[3]), to_int(f[4])
    sub = to_int(f[6])
    rat = _SYSMODE.get(mode)
    if mode == 7 and sub is not None:       # GSM/WCDMA: the submode tells which
        rat = "GSM" if sub in (1, 2, 3) else "UMTS"
    out = {"registration": _service(srv, roam), "rat": rat}
    out.update(_sim(sim))
    return out
