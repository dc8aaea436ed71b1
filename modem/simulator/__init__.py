"""The built-in modem simulator: LTE/5G modems of several vendors answering AT commands on a real pty, with
faults to inject (hang, garbage, URC storm, reboot, SIM removal, registration denial, signal, incoming SMS).

    from modem.simulator import Simulator, PERSONALITIES

It is the *device* side: nothing here imports modem.at, agent or board.
"""
from modem.simulator.personalities import PERSONALITIES, Personality
from modem.simulator.simulator import Simulator

__all__ = ["PERSONALITIES", "Personality", "Simulator"]
