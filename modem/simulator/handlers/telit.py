"""Telit proprietary commands (and the standard ones Telit answers its own way)."""
from __future__ import annotations

from modem.simulator.atparse import Command
from modem.simulator.handlers.base import Modem, only, setting, slot_switch, vendor
from modem.simulator.handlers.basic import reset_reply
from modem.simulator.reply import AtError, Reply


@vendor("telit", "#RFSTS")
def _rfsts(e: Modem, cmd: Command) -> list[str]:
    """#RFSTS (LTE): <PLMN>,<EARFCN>,<RSRP>,<RSSI>,<RSRQ>,<TAC>,<RAC>,[<TXPWR>],<DRX>,<MM>,<RRC>,<CID>,<IMSI>,
    [<NetNameAsc>],<SD>,<ABND>,<T3402>,<T3412>,<SINR>"""
    only(cmd, "action")
    m = e.model
    imsi = m.sim.imsi if e.sim_status() == "READY" else ""
    op = m.operator
    if op is None:
        return [f'#RFSTS: "",0,-140,-113,-20,0000,255,,128,0,0,0000000,"{imsi}","",0,0,0,0,0']
    c, sig = op.lte, m.signal
    rrc = 2 if m.data_active else 0
    return [f'#RFSTS: "{op.mcc} {op.mnc}",{c.earfcn},{sig.rsrp},{sig.rssi},{round(sig.rsrq)},{c.tac:04X},255,,128,'
            f'19,{rrc},{c.cell_id:07X},"{imsi}","{op.long_name}",3,{c.band},720,3240,{round(sig.sinr)}']


@vendor("telit", "#SERVINFO")
def _servinfo(e: Modem, cmd: Command) -> list[str]:
    """#SERVINFO (LTE): <EARFCN>,<dBm>,<NetNameAsc>,<NetCode>,<CellId>,<TAC>,<DRX>,<SD>,<RSRP>"""
    only(cmd, "action")
    m = e.model
    op = m.operator
    if op is None:
        return ['#SERVINFO: 0,-113,"","",0000000,0000,0,0,-140']
    c, sig = op.lte, m.signal
    return [f'#SERVINFO: {c.earfcn},{sig.rssi},"{op.long_name}","{op.plmn}",{c.cell_id:07X},{c.tac:04X},128,3,'
            f'{sig.rsrp}']


@vendor("telit", "#SIMSELECT", feature="simselect")
def _simselect(e: Modem, cmd: Command) -> list[str] | Reply:
    return slot_switch(e, cmd, "#SIMSELECT", 1)


@vendor("telit", "#QSS")
def _qss(e: Modem, cmd: Command) -> list[str]:
    """#QSS: <mode>,<status>: 0 not inserted, 1 inserted, 2 inserted and PIN unlocked, 3 ready."""
    m = e.model
    if cmd.kind == "read":
        st = e.sim_status()
        status = 0 if st == "absent" else 3 if st == "READY" else 1
        return [f"#QSS: {m.qcfg.get('qss', '0')},{status}"]
    if cmd.kind == "test":
        return ["#QSS: (0-3)"]
    only(cmd, "set")
    m.qcfg["qss"] = str(setting(cmd, "qss", (0, 1, 2, 3)))
    return []


@vendor("telit", "#REBOOT")
def _telit_reboot(e: Modem, cmd: Command) -> Reply:
    only(cmd, "action")
    return reset_reply(e)


@vendor("telit", "I")
def _telit_ati(e: Modem, cmd: Command) -> list[str]:
    n = cmd.raw or "0"
    if n == "0":
        return [e.p.fill(x) for x in e.p.ati]
    table = {"3": e.p.manufacturer, "4": e.p.model, "5": e.p.revision}
    if n not in table:
        raise AtError()
    return [table[n]]
