"""Proprietary commands, per vendor family: serving cell, SIM slot, data call, reset, identity quirks.

Each handler is registered for a family ("quectel" ...) and, when only some models have it, a feature of the
personality ("quimslot" ...). handlers_for() merges them over the generic 3GPP set of modem/simulator/commands.py.
Response layouts follow the captures cited in modem/simulator/personalities.py.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from modem.simulator import commands
from modem.simulator.atparse import Command
from modem.simulator.commands import Handler, bad_params, only, reset_reply, setting
from modem.simulator.model import DENIED, REGISTERED_ROAMING
from modem.simulator.personalities import Operator, Personality
from modem.simulator.reply import AtError, CmeError, Reply

if TYPE_CHECKING:
    from modem.simulator.engine import Engine

_VENDOR: dict[tuple[str, str, str | None], Handler] = {}


def vendor(family: str, *names: str, feature: str | None = None) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        for n in names:
            _VENDOR[(family, n, feature)] = fn
        return fn
    return deco


def handlers_for(p: Personality) -> dict[str, Handler]:
    h = dict(commands.GENERIC)
    if p.nr:
        h["+C5GREG"] = commands.C5GREG
    for name, fmt in p.iccid_commands:
        h[name] = commands.iccid_handler(fmt)
    for (family, name, feature), fn in _VENDOR.items():
        if family == p.family and (feature is None or feature in p.features):
            h[name] = fn
    return h


def _camped(e: "Engine") -> Operator | None:
    """The cell the modem sits on: the registered network, or in limited service (denied) the SIM's own."""
    m = e.model
    if m.operator is not None:
        return m.operator
    if m.registration == DENIED and m.sim.inserted:
        return m.sim.operator
    return None


def power_off_reply(e: "Engine", urc: str | None) -> Reply:
    """OK, maybe a last URC, then the port goes away for good: only a power cycle brings the modem back."""
    def off() -> None:
        e.model.powered_off = True
        e._reboot(0)

    def later() -> None:
        def goodbye() -> None:
            if urc:
                e.urc(urc)
            e.at(e.last_words(), off)
        e.at(e.last_words(), goodbye)
    return Reply([], delay=e.timing.set, after=later)


def _slot_switch(e: "Engine", cmd: Command, prefix: str, base: int) -> list[str] | Reply:
    """Shared by AT+QUIMSLOT (1/2), AT+QDSIM (0/1), AT+SWITCHSIM (0/1), AT#SIMSELECT (1/2)."""
    m = e.model
    values = tuple(range(base, base + e.p.slots))
    if cmd.kind == "read":
        return [f"{prefix}: {m.active_slot - 1 + base}"]
    if cmd.kind == "test":
        return [f"{prefix}: ({','.join(str(v) for v in values)})"]
    only(cmd, "set")
    slot = setting(cmd, prefix, values) - base + 1
    return Reply([], delay=e.timing.set, after=lambda: e.at(0, lambda: e.select_slot(slot)))


# ================================================================================================ Quectel

_LTE_BW = {1: 0, 3: 1, 5: 2, 10: 3, 15: 4, 20: 5}
_NR_BW = {5: 0, 10: 1, 15: 2, 20: 3, 25: 4, 30: 5, 40: 6, 50: 7, 60: 8, 70: 9, 80: 10, 90: 11, 100: 12}
_SCS = {15: 0, 30: 1, 60: 2, 120: 3}


@vendor("quectel", "+QENG")
def _qeng(e: "Engine", cmd: Command) -> list[str]:
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
    op = _camped(e)
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
               f'{_LTE_BW[c.bw_mhz]},{_LTE_BW[c.bw_mhz]},{c.tac:X},{sig.rsrp},{round(sig.rsrq)},{sig.rssi},'
               f'{round(sig.sinr)},{10 if m.data_active else 0},{"10" if m.data_active else "-"},{sig.srxlev}')
    else:
        lte = (f'"LTE","{c.duplex}",{op.mcc},{op.mnc},{c.cell_id:X},{c.pci},{c.earfcn},{c.band},'
               f'{_LTE_BW[c.bw_mhz]},{_LTE_BW[c.bw_mhz]},{c.tac:X},{sig.rsrp},{round(sig.rsrq)},{sig.rssi},'
               f'{sig.sinr_fifth_db},{sig.srxlev}')
    if rat == "EN-DC":
        n = op.nr
        return [f'+QENG: "servingcell","{state}"', f"+QENG: {lte}",
                f'+QENG: "NR5G-NSA",{op.mcc},{op.mnc},{n.pci},{nr.rsrp},{round(nr.sinr)},{round(nr.rsrq)},'
                f'{n.arfcn},{n.band},{_NR_BW[n.bw_mhz]},{_SCS[n.scs_khz]}']
    return [f'+QENG: "servingcell","{state}",{lte}']


@vendor("quectel", "+QNWINFO")
def _qnwinfo(e: "Engine", cmd: Command) -> list[str]:
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
def _qcsq(e: "Engine", cmd: Command) -> list[str]:
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
def _qspn(e: "Engine", cmd: Command) -> list[str]:
    only(cmd, "action")
    e.require_sim()
    op = e.model.sim.operator
    return [f'+QSPN: "{op.long_name}","{op.short_name}","",0,"{op.plmn}"']


@vendor("quectel", "+QGMR")
def _qgmr(e: "Engine", cmd: Command) -> list[str]:
    only(cmd, "action")
    return [f"{e.p.revision}_01.002.01.002"]


@vendor("quectel", "+QSIMSTAT")
def _qsimstat(e: "Engine", cmd: Command) -> list[str]:
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
def _qcfg(e: "Engine", cmd: Command) -> list[str]:
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
def _quimslot(e: "Engine", cmd: Command) -> list[str] | Reply:
    return _slot_switch(e, cmd, "+QUIMSLOT", 1)


@vendor("quectel", "+QDSIM", feature="qdsim")
def _qdsim(e: "Engine", cmd: Command) -> list[str] | Reply:
    return _slot_switch(e, cmd, "+QDSIM", 0)


@vendor("quectel", "+QNETDEVCTL", feature="qnetdevctl")
def _qnetdevctl(e: "Engine", cmd: Command) -> list[str] | Reply:
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
        ctx.active, ctx.address = True, commands._ctx_address(e, ctx)
        m.data_call, m.netdev_cid = True, cid
        m.qcfg["netdev"] = f"{op},{cid},{urc}"
    return Reply([], delay=e.timing.pdp, after=up)


@vendor("quectel", "+QPOWD")
def _qpowd(e: "Engine", cmd: Command) -> Reply:
    only(cmd, "action", "set")
    return power_off_reply(e, "POWERED DOWN")


# ================================================================================================ SIMCom

@vendor("simcom", "+CPSI")
def _cpsi(e: "Engine", cmd: Command) -> list[str]:
    """+CPSI: <mode>,<op mode>,<MCC>-<MNC>,<TAC>,<SCellID>,<PCellID>,<band>,<earfcn>,<dlbw>,<ulbw>,
    <RSRQ 1/10 dB>,<RSRP 1/10 dBm>,<RSSI 1/10 dBm>,<RSSNR> (SIM7500/SIM7600 AT manual, field captures)."""
    if cmd.kind == "test":
        return []
    only(cmd, "read")
    m = e.model
    if m.cfun != 1:
        return ["+CPSI: NO SERVICE,Low Power Mode"]
    op = m.operator
    if op is None:
        return ["+CPSI: NO SERVICE,Online"]
    c, sig = op.lte, m.signal
    bw = _LTE_BW[c.bw_mhz]
    return [f"+CPSI: LTE,Online,{op.mcc}-{op.mnc},0x{c.tac:04X},{c.cell_id},{c.pci},EUTRAN-BAND{c.band},{c.earfcn},"
            f"{bw},{bw},{round(sig.rsrq * 10)},{sig.rsrp * 10},{sig.rssi * 10},{round(sig.sinr)}"]


@vendor("simcom", "+CNSMOD")
def _cnsmod(e: "Engine", cmd: Command) -> list[str]:
    only(cmd, "read")
    return [f"+CNSMOD: 0,{8 if e.model.registered else 0}"]


@vendor("simcom", "+SWITCHSIM", feature="switchsim")
def _switchsim(e: "Engine", cmd: Command) -> list[str] | Reply:
    return _slot_switch(e, cmd, "+SWITCHSIM", 0)


@vendor("simcom", "+SIMCOMATI")
def _simcomati(e: "Engine", cmd: Command) -> list[str]:
    only(cmd, "action")
    return [e.p.fill(x) for x in ("Manufacturer: {manufacturer}", "Model: {model}", "Revision: {revision}",
                                  "QCN: ", "IMEI: {imei}", "MEID: ", "+GCAP: +CGSM", "DeviceInfo: 173,170")]


@vendor("simcom", "+CRESET")
def _creset(e: "Engine", cmd: Command) -> Reply:
    only(cmd, "action")
    return reset_reply(e)


@vendor("simcom", "+CPOF")
def _cpof(e: "Engine", cmd: Command) -> Reply:
    only(cmd, "action")
    return power_off_reply(e, None)


# ================================================================================================ Sierra Wireless

@vendor("sierra", "!GSTATUS")
def _gstatus(e: "Engine", cmd: Command) -> list[str]:
    """!GSTATUS: layout of SWI9X30C (EM7455/MC7455) firmware: two tab-separated columns, a blank line, then
    the signal block."""
    only(cmd, "read", "action")
    m = e.model
    op = m.operator
    mode = "ONLINE" if m.cfun == 1 else "LOW POWER MODE"
    head = ["!GSTATUS: ", f"Current Time:  {int(e.now) % 100000}\t\tTemperature: 38",
            f"Reset Counter: {m.boot_count + 1}\t\tMode:        {mode:<15}"]
    if op is None:
        return head + ["System mode:   No service \tPS state:    Not attached ",
                       "EMM state:     Deregistered   \tNo Service     ", "RRC state:     RRC Idle       "]
    c, sig = op.lte, m.signal
    rrc = "RRC Connected  " if m.data_active else "RRC Idle       "
    return head + [
        "System mode:   LTE        \tPS state:    Attached     ",
        f"LTE band:      B{c.band:<6}\t\tLTE bw:      {c.bw_mhz} MHz  ",
        f"LTE Rx chan:   {c.earfcn}\t\tLTE Tx chan: {c.ul_earfcn}",
        "LTE CA state:  NOT ASSIGNED",
        "EMM state:     Registered     \tNormal Service ",
        f"RRC state:     {rrc}",
        "IMS reg state: No Srv  \t\t",
        "",
        f"PCC RxM RSSI:  {sig.rssi}\t\tRSRP (dBm):  {sig.rsrp}",
        f"PCC RxD RSSI:  {sig.rssi - 2}\t\tRSRP (dBm):  {sig.rsrp - 2}",
        f"Tx Power:      {'0' if m.data_active else '--'}\t\tTAC:         {c.tac:04X} ({c.tac})",
        f"RSRQ (dB):     {sig.rsrq:.1f}\t\tCell ID:     {c.cell_id:08X} ({c.cell_id})",
        f"SINR (dB):     {sig.sinr:.1f}",
    ]


@vendor("sierra", "!ENTERCND")
def _entercnd(e: "Engine", cmd: Command) -> list[str]:
    only(cmd, "set")
    return []


@vendor("sierra", "!RESET")
def _sierra_reset(e: "Engine", cmd: Command) -> Reply:
    only(cmd, "action")
    return reset_reply(e)


# ================================================================================================ Telit

@vendor("telit", "#RFSTS")
def _rfsts(e: "Engine", cmd: Command) -> list[str]:
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
def _servinfo(e: "Engine", cmd: Command) -> list[str]:
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
def _simselect(e: "Engine", cmd: Command) -> list[str] | Reply:
    return _slot_switch(e, cmd, "#SIMSELECT", 1)


@vendor("telit", "#QSS")
def _qss(e: "Engine", cmd: Command) -> list[str]:
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
def _telit_reboot(e: "Engine", cmd: Command) -> Reply:
    only(cmd, "action")
    return reset_reply(e)


@vendor("telit", "I")
def _telit_ati(e: "Engine", cmd: Command) -> list[str]:
    n = cmd.raw or "0"
    if n == "0":
        return [e.p.fill(x) for x in e.p.ati]
    table = {"3": e.p.manufacturer, "4": e.p.model, "5": e.p.revision}
    if n not in table:
        raise AtError()
    return [table[n]]


# ================================================================================================ Huawei

@vendor("huawei", "^SYSINFOEX")
def _sysinfoex(e: "Engine", cmd: Command) -> list[str]:
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
def _hcsq(e: "Engine", cmd: Command) -> list[str]:
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
def _monsc(e: "Engine", cmd: Command) -> list[str]:
    """^MONSC: LTE,<MCC>,<MNC>,<ARFCN>,<Cell_ID>,<PCI>,<TAC>,<RSRP>,<RSRQ>,<RXLEV>"""
    only(cmd, "action")
    op = e.model.operator
    if op is None:
        return ["^MONSC: NONE"]
    c, s = op.lte, e.model.signal
    return [f"^MONSC: LTE,{op.mcc},{op.mnc},{c.earfcn},{c.cell_id:X},{c.pci},{c.tac:X},{s.rsrp},{round(s.rsrq)},"
            f"{s.rssi}"]


@vendor("huawei", "^CURC")
def _curc(e: "Engine", cmd: Command) -> list[str]:
    if cmd.kind == "read":
        return ["^CURC: 1"]
    only(cmd, "set")
    return []


@vendor("huawei", "^RESET")
def _huawei_reset(e: "Engine", cmd: Command) -> Reply:
    only(cmd, "action")
    return reset_reply(e)


# ================================================================================================ u-blox

@vendor("ublox", "I")
def _ublox_ati(e: "Engine", cmd: Command) -> list[str]:
    n = cmd.raw or "0"
    if n == "0":
        return [e.p.fill(x) for x in e.p.ati]
    if n == "9":
        return [f"{e.p.revision},A00.01"]
    raise AtError()


@vendor("ublox", "+CFUN")
def _ublox_cfun(e: "Engine", cmd: Command) -> Reply | list[str]:
    """+CFUN=15 (reset) and 16 (reset with SIM reset) besides the 3GPP values."""
    if cmd.kind == "set" and cmd.int_arg(0) in (15, 16):
        return reset_reply(e)
    if cmd.kind == "test":
        return ["+CFUN: (0,1,4,15,16,19,127),(0-1)"]
    return commands.GENERIC["+CFUN"](e, cmd)


# ================================================================================================ Fibocom

@vendor("fibocom", "+GTPKGVER")
def _gtpkgver(e: "Engine", cmd: Command) -> list[str]:
    only(cmd, "read", "action")
    return [f'+GTPKGVER: "{e.p.revision}_5001.05.001.035"']


@vendor("fibocom", "+GMM")
def _gmm(e: "Engine", cmd: Command) -> list[str]:
    only(cmd, "read", "action")
    return ['+GMM: "L850 LTE Module","L850"'] if cmd.kind == "read" else [e.p.fill(e.p.cgmm)]


@vendor("fibocom", "+XMCI")
def _xmci(e: "Engine", cmd: Command) -> list[str]:
    """+XMCI: 4,<MCC>,<MNC>,"<TAC>","<CI>","<PCI>","<DL EARFCN>","<UL EARFCN>","<PATHLOSS>",<RSRP idx>,
    <RSRQ idx>,<SINR>,"<TA>","<CQI>" (type 4 = LTE serving cell)."""
    only(cmd, "set")
    op = e.model.operator
    if op is None:
        return []
    c, s = op.lte, e.model.signal
    return [f'+XMCI: 4,{op.mcc},{op.mnc},"0x{c.tac:04X}","0x{c.cell_id:08X}","0x{c.pci:04X}","0x{c.earfcn:08X}",'
            f'"0x{c.ul_earfcn:08X}","0xFFFFFFFF",{s.cesq_rsrp},{s.cesq_rsrq},{round(s.sinr)},"0x00000003",'
            f'"0x00000000"']


@vendor("fibocom", "+CFUN")
def _fibocom_cfun(e: "Engine", cmd: Command) -> Reply | list[str]:
    """+CFUN=15 is Fibocom's reset."""
    if cmd.kind == "set" and cmd.int_arg(0) == 15:
        return reset_reply(e)
    return commands.GENERIC["+CFUN"](e, cmd)
