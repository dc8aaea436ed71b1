"""SIMCom proprietary commands (and the standard ones SIMCom answers its own way)."""
from __future__ import annotations

from modem.simulator.atparse import Command
from modem.simulator.handlers.base import LTE_BW, Modem, only, power_off_reply, slot_switch, vendor
from modem.simulator.handlers.basic import reset_reply
from modem.simulator.reply import Reply


@vendor("simcom", "+CPSI")
def _cpsi(e: Modem, cmd: Command) -> list[str]:
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
    bw = LTE_BW[c.bw_mhz]
    return [f"+CPSI: LTE,Online,{op.mcc}-{op.mnc},0x{c.tac:04X},{c.cell_id},{c.pci},EUTRAN-BAND{c.band},{c.earfcn},"
            f"{bw},{bw},{round(sig.rsrq * 10)},{sig.rsrp * 10},{sig.rssi * 10},{round(sig.sinr)}"]


@vendor("simcom", "+CNSMOD")
def _cnsmod(e: Modem, cmd: Command) -> list[str]:
    only(cmd, "read")
    return [f"+CNSMOD: 0,{8 if e.model.registered else 0}"]


@vendor("simcom", "+SWITCHSIM", feature="switchsim")
def _switchsim(e: Modem, cmd: Command) -> list[str] | Reply:
    return slot_switch(e, cmd, "+SWITCHSIM", 0)


@vendor("simcom", "+SIMCOMATI")
def _simcomati(e: Modem, cmd: Command) -> list[str]:
    only(cmd, "action")
    return [e.p.fill(x) for x in ("Manufacturer: {manufacturer}", "Model: {model}", "Revision: {revision}",
                                  "QCN: ", "IMEI: {imei}", "MEID: ", "+GCAP: +CGSM", "DeviceInfo: 173,170")]


@vendor("simcom", "+CRESET")
def _creset(e: Modem, cmd: Command) -> Reply:
    only(cmd, "action")
    return reset_reply(e)


@vendor("simcom", "+CPOF")
def _cpof(e: Modem, cmd: Command) -> Reply:
    only(cmd, "action")
    return power_off_reply(e, None)
