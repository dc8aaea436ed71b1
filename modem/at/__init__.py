"""The AT engine: IO-free framing, matching and URC dispatch (engine.py), driven over pyserial by port.py."""
from modem.at.engine import AtEngine, Response
from modem.at.errors import AtError, AtTimeout, BusyError, ModemError, ModemRestarted, TransportError
from modem.at.port import AtPort
from modem.at.urc import UrcRegistry

__all__ = ["AtEngine", "AtPort", "Response", "UrcRegistry", "AtError", "AtTimeout", "TransportError",
           "ModemError", "ModemRestarted", "BusyError"]
