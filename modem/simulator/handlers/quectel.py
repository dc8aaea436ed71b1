"""Quectel proprietary commands (and the standard ones Quectel answers its own way)."""
from __future__ import annotations

from modem.simulator.atparse import Command
from modem.simulator.handlers.base import LTE_BW, Modem, camped, only, power_off_reply, setting, slot_switch, vendor
from modem.simulator.handlers.network import ctx_address
from modem.simulator.reply import AtError, CmeError, Reply, bad_params


_NR_BW = {5: 0, 10: 1, 15: 2, 20: 3, 25: 4, 30: 5, 40: 6, 50: 7, 60: 8, 70: 9, 80: 10, 90: 11, 100: 12}
_SCS = {15: 0, 30: 1, 60: 2, 120: 3}


@vendor("quectel", "+QENG")
def _qeng(e: Modem, cmd: Command) -> list[str]:
    """+QENG: "servingcell" (Quectel EC2x / RG50xQ-RM5xxQ AT manuals):
         LTE (EC2x):  "servingcell",<state>,"LTE",<is_tdd>,<MCC>,<MNC>,<cellID>,<PCID>,<earfcn>,<band>,
                      <ul_bw>,<dl_bw>,<TAC>,<RSRP>,<RSRQ>,<RSSI>,<SINR 1/5 dB>,<srxlev>
         LTE (RM5xx): ... <RSRP>,<RSRQ>,<RSSI>,<SINR>,<CQI>,<tx_power>,<srxlev>
         EN-DC:       "servingcell",<state> / "LTE",<is_tdd>,... / "NR5G-NSA",<MCC>,<MNC>,<PCID>,<RSRP>,<SINR>,
                      <RSRQ>,<ARFCN>,<band>,<NR_DL_bandwidth>,<scs>
         SA:          "servingcell",<state>,"NR5G-SA",<duplex>,<MCC>,<MNC>,<cellID>,<PCID>,<TAC>,<ARFCN>,<band>,
                      <NR_DL_bandwidth>,<RSRP>,<RSRQ>,<SINR>,<scs>,<srxlev>"""
    if cmd.kind == "test":
        return ['+QENG: ("servingcell","neighbourcell")']
    only(cmd, "set")
    what = (cmd.arg(0) or "").lower()
    if what == "neighbourcell":
        return []
    if what != "servingcell":
        raise bad_params()
    m = e.model
    op = camped(e)
    if op is None or m.cfun != 1:
        return ['+QENG: "servingcell","SEARCH"']
    state = "LIMSRV" if not m.registered else "CONNECT" if m.data_active else "NOCONN"
    sig = m.signal
    nr = sig.nr()
    c = op.lte
    rat = m.rat if m.registered else "LTE"
    if rat == "NR5G-SA":
        n = op.nr
        return [f'+QENG: "servingcell","{state}","NR5G-SA","{n.duplex}",{op.mcc},{op.mnc},{n.cell_id:X},{n.pci},'
                f'{n.tac:X},{n.arfcn},{n.band},{_NR_BW[n.bw_mhz]},{nr.rsrp},{round(nr.rsrq)},{round(nr.sinr)},'
                f'{_SCS[n.scs_khz]},{nr.srxlev}']
    if e.p.nr:
        lte = (f'"LTE","{c.duplex}",{op.mcc},{op.mnc},{c.cell_id:X},{c.pci},{c.earfcn},{c.band},'
               f'{LTE_BW[c.bw_mhz]},{LTE_BW[c.bw_mhz]},{c.tac:X},{sig.rsrp},{round(sig.rsrq)},{sig.rssi},'
               f'{round(sig.sinr)},{10 if m.data_active else 0},{"10" if m.data_active else "-"},{sig.srxlev}')
    else:
        lte = (f'"LTE","{c.duplex}",{op.mcc},{op.mnc},{c.cell_id:X},{c.pci},{c.earfcn},{c.band},'
               f'{LTE_BW[c.bw_mhz]},{LTE_BW[c.bw_mhz]},{c.tac:X},{sig.rsrp},{round(sig.rsrq)},{sig.rssi},'
               f'{sig.sinr_fifth_db},{sig.srxlev}')
    if rat == "EN-DC":
        n = op.nr
        return [f'+QENG: "servingcell","{state}"', f"+QENG: {lte}",
                f'+QENG: "NR5G-NSA",{op.mcc},{op.mnc},{n.pci},{nr.rsrp},{round(nr.sinr)},{round(nr.rsrq)},'
                f'{n.arfcn},{n.band},{_NR_BW[n.bw_mhz]},{_SCS[n.scs_khz]}']
    return [f'+QENG: "servingcell","{state}",{lte}']


@vendor("quectel", "+QNWINFO")
def _qnwinfo(e: Modem, cmd: Command) -> list[str]:
    if cmd.kind == "test":
        return []
    only(cmd, "action")
    m = e.model
    op = m.operator
    if op is None:
        return ["+QNWINFO: No Service"]
    if m.rat == "NR5G-SA":
        return [f'+QNWINFO: "TDD NR5G","{op.plmn}","NR5G BAND {op.nr.band}",{op.nr.arfcn}']
    return [f'+QNWINFO: "{op.lte.duplex} LTE","{op.plmn}","LTE BAND {op.lte.band}",{op.lte.earfcn}']


@vendor("quectel", "+QCSQ")
def _qcsq(e: Modem, cmd: Command) -> list[str]:
    """+QCSQ: "LTE",<rssi>,<rsrp>,<sinr 1/5 dB>,<rsrq> ; "NR5G",<rsrp>,<sinr>,<rsrq> ; "NOSERVICE"."""
    if cmd.kind == "test":
        return ['+QCSQ: ("NOSERVICE","LTE","NR5G")']
    only(cmd, "action")
    m = e.model
    if not m.registered:
        return ['+QCSQ: "NOSERVICE"']
    sig, nr = m.signal, m.signal.nr()
    out = []
    if m.rat in ("LTE", "EN-DC"):
        out.append(f'+QCSQ: "LTE",{sig.rssi},{sig.rsrp},{sig.sinr_fifth_db},{round(sig.rsrq)}')
    if m.rat in ("EN-DC", "NR5G-SA"):
        out.append(f'+QCSQ: "NR5G",{nr.rsrp},{round(nr.sinr)},{round(nr.rsrq)}')
    return out


@vendor("quectel", "+QSPN")
def _qspn(e: Modem, cmd: Command) -> list[str]:
    only(cmd, "action")
    e.require_sim()
    op = e.model.sim.operator
    return [f'+QSPN: "{op.long_name}","{op.short_name}","",0,"{op.plmn}"']


@vendor("quectel", "+QGMR")
def _qgmr(e: Modem, cmd: Command) -> list[str]:
    only(cmd, "action")
    return [f"{e.p.revision}_01.002.01.002"]


@vendor("quectel", "+QSIMSTAT")
def _qsimstat(e: Modem, cmd: Command) -> list[str]:
    m = e.model
    if cmd.kind == "read":
        return [f"+QSIMSTAT: {m.qcfg.get('qsimstat', '0')},{1 if m.sim.inserted else 0}"]
    if cmd.kind == "test":
        return ["+QSIMSTAT: (0,1)"]
    only(cmd, "set")
    m.qcfg["qsimstat"] = str(setting(cmd, "qsimstat", (0, 1)))
    return []


_QCFG_DEFAULTS = {"nwscanmode": "0", "roamservice": "255", "nat": "0", "ims": "1", "risignaltype": '"respective"'}


@vendor("quectel", "+QCFG")
def _qcfg(e: Modem, cmd: Command) -> list[str]:
    """AT+QCFG="usbnet"[,<0-5>] and a few others; the value is kept (NV) and only read back."""
    if cmd.kind == "test":
        return ['+QCFG: "usbnet",(0-5)', '+QCFG: "nwscanmode",(0-3),(0,1)']
    only(cmd, "set")
    m = e.model
    key = (cmd.arg(0) or "").lower()
    rest = cmd.raw.split(",", 1)[1] if "," in cmd.raw else None
    if key == "usbnet":
        if rest is None:
            return [f'+QCFG: "usbnet",{m.usbnet}']
        v = int(rest)
        if not 0 <= v <= 5:
            raise bad_params()
        m.usbnet = v                          # takes effect at the next boot on a real modem
        return []
    if not key or len(key) > 40:
        raise bad_params()
    if rest is None:
        if key in m.qcfg or key in _QCFG_DEFAULTS:
            return [f'+QCFG: "{key}",{m.qcfg.get(key, _QCFG_DEFAULTS.get(key))}']
        raise AtError()
    m.qcfg[key] = rest
    return []


@vendor("quectel", "+QUIMSLOT", feature="quimslot")
def _quimslot(e: Modem, cmd: Command) -> list[str] | Reply:
    return slot_switch(e, cmd, "+QUIMSLOT", 1)


@vendor("quectel", "+QDSIM", feature="qdsim")
def _qdsim(e: Modem, cmd: Command) -> list[str] | Reply:
    return slot_switch(e, cmd, "+QDSIM", 0)


@vendor("quectel", "+QNETDEVCTL", feature="qnetdevctl")
def _qnetdevctl(e: Modem, cmd: Command) -> list[str] | Reply:
    """AT+QNETDEVCTL=<op>,<cid>,<urc_en> (1 connect, 3 auto-connect, 0 disconnect);
    AT+QNETDEVCTL? -> +QNETDEVCTL: <op>,<cid>,<urc_en>,<state> (ModemManager's test table)."""
    m = e.model
    if cmd.kind == "read":
        op, cid, urc = m.qcfg.get("netdev", "0,0,0").split(",")
        return [f"+QNETDEVCTL: {op},{cid},{urc},{1 if m.data_call and m.data_active else 0}"]
    if cmd.kind == "test":
        return ["+QNETDEVCTL: (0-3),(1-15),(0,1)"]
    only(cmd, "set")
    op, cid, urc = cmd.int_arg(0), cmd.int_arg(1, 1), cmd.int_arg(2, 0)
    if op not in (0, 1, 2, 3) or urc not in (0, 1) or cid not in m.sim.pdp:
        raise bad_params()
    ctx = m.sim.pdp[cid]
    if op == 0:
        def down() -> None:
            ctx.active, ctx.address = False, ""
            m.data_call, m.netdev_cid = False, 0
            m.qcfg["netdev"] = f"0,{cid},{urc}"
        return Reply([], delay=e.timing.pdp, after=down)
    e.require_sim()

    def up() -> None:
        if not m.registered:
            raise CmeError(30)
        ctx.active, ctx.address = True, ctx_address(e, ctx)
        m.data_call, m.netdev_cid = True, cid
        m.qcfg["netdev"] = f"{op},{cid},{urc}"
    return Reply([], delay=e.timing.pdp, after=up)


@vendor("quectel", "+QPOWD")
def _qpowd(e: Modem, cmd: Command) -> Reply:
    only(cmd, "action", "set")
    return power_off_reply(e, "POWERED DOWN")
