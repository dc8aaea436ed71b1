"""Huawei proprietary commands (and the standard ones Huawei answers its own way)."""
from __future__ import annotations

from modem.simulator.atparse import Command
from modem.simulator.handlers.base import Modem, only, vendor
from modem.simulator.handlers.basic import reset_reply
from modem.simulator.model import DENIED, REGISTERED_ROAMING
from modem.simulator.reply import Reply


@vendor("huawei", "^SYSINFOEX")
def _sysinfoex(e: Modem, cmd: Command) -> list[str]:
    """^SYSINFOEX: <srv_status>,<srv_domain>,<roam_status>,<sim_state>,<lock_state>,<sysmode>,<sysmode_name>,
    <submode>,<submode_name>"""
    only(cmd, "action")
    m = e.model
    sim = 1 if e.sim_status() == "READY" else 255 if e.sim_status() == "absent" else 240
    if m.registered:
        roam = 1 if m.registration == REGISTERED_ROAMING else 0
        return [f'^SYSINFOEX: 2,3,{roam},{sim},,6,"LTE",101,"LTE"']
    limited = 1 if m.registration == DENIED else 0
    return [f'^SYSINFOEX: {limited},0,0,{sim},,0,"",0,""']


@vendor("huawei", "^HCSQ")
def _hcsq(e: Modem, cmd: Command) -> list[str]:
    """^HCSQ: "LTE",<rssi>,<rsrp>,<sinr>,<rsrq> as level indexes. Huawei's tables start with 0 = below the range
    and 1 = its first step (rsrp 1 = -140 <= rsrp < -139), hence the +1: rssi+121, rsrp+141, (sinr+20)*5+1,
    (rsrq+19.5)*2+1."""
    only(cmd, "read", "action")
    m = e.model
    if not m.registered:
        return ['^HCSQ: "NOSERVICE"']
    s = m.signal
    clamp = lambda v, hi: max(0, min(hi, int(round(v))))  # noqa: E731
    return [f'^HCSQ: "LTE",{clamp(s.rssi + 121, 96)},{clamp(s.rsrp + 141, 97)},{clamp((s.sinr + 20) * 5 + 1, 251)},'
            f'{clamp((s.rsrq + 19.5) * 2 + 1, 34)}']


@vendor("huawei", "^MONSC")
def _monsc(e: Modem, cmd: Command) -> list[str]:
    """^MONSC: LTE,<MCC>,<MNC>,<ARFCN>,<Cell_ID>,<PCI>,<TAC>,<RSRP>,<RSRQ>,<RXLEV>"""
    only(cmd, "action")
    op = e.model.operator
    if op is None:
        return ["^MONSC: NONE"]
    c, s = op.lte, e.model.signal
    return [f"^MONSC: LTE,{op.mcc},{op.mnc},{c.earfcn},{c.cell_id:X},{c.pci},{c.tac:X},{s.rsrp},{round(s.rsrq)},"
            f"{s.rssi}"]


@vendor("huawei", "^CURC")
def _curc(e: Modem, cmd: Command) -> list[str]:
    if cmd.kind == "read":
        return ["^CURC: 1"]
    only(cmd, "set")
    return []


@vendor("huawei", "^RESET")
def _huawei_reset(e: Modem, cmd: Command) -> Reply:
    only(cmd, "action")
    return reset_reply(e)
