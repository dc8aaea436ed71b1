"""Sierra Wireless proprietary commands (and the standard ones Sierra Wireless answers its own way)."""
from __future__ import annotations

from modem.simulator.atparse import Command
from modem.simulator.handlers.base import Modem, only, vendor
from modem.simulator.handlers.basic import reset_reply
from modem.simulator.reply import Reply


@vendor("sierra", "!GSTATUS")
def _gstatus(e: Modem, cmd: Command) -> list[str]:
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
def _entercnd(e: Modem, cmd: Command) -> list[str]:
    only(cmd, "set")
    return []


@vendor("sierra", "!RESET")
def _sierra_reset(e: Modem, cmd: Command) -> Reply:
    only(cmd, "action")
    return reset_reply(e)
