"""The built-in modem simulator: LTE/5G modems of several vendors answering AT commands on a real pty, with
faults to inject (hang, garbage, URC storm, reboot, SIM removal, registration denial, signal, incoming SMS).

    from modem.sim import Simulator, PERSONALITIES

It is the *device* side: nothing here imports modem.at, agent or board.
"""
from modem.sim.personalities import PERSONALITIES, Personality
from modem.sim.simulator import Simulator

__all__ = ["PERSONALITIES", "Personality", "Simulator"]
