"""Fibocom proprietary commands (and the standard ones Fibocom answers its own way)."""
from __future__ import annotations

from modem.simulator.atparse import Command
from modem.simulator.handlers.base import GENERIC, Modem, only, vendor
from modem.simulator.handlers.basic import reset_reply
from modem.simulator.reply import Reply


@vendor("fibocom", "+GTPKGVER")
def _gtpkgver(e: Modem, cmd: Command) -> list[str]:
    only(cmd, "read", "action")
    return [f'+GTPKGVER: "{e.p.revision}_5001.05.001.035"']


@vendor("fibocom", "+GMM")
def _gmm(e: Modem, cmd: Command) -> list[str]:
    only(cmd, "read", "action")
    return ['+GMM: "L850 LTE Module","L850"'] if cmd.kind == "read" else [e.p.fill(e.p.cgmm)]


@vendor("fibocom", "+XMCI")
def _xmci(e: Modem, cmd: Command) -> list[str]:
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
def _fibocom_cfun(e: Modem, cmd: Command) -> Reply | list[str]:
    """+CFUN=15 is Fibocom's reset."""
    if cmd.kind == "set" and cmd.int_arg(0) == 15:
        return reset_reply(e)
    return GENERIC["+CFUN"](e, cmd)
