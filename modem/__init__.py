"""modem: everything that talks AT to an LTE/5G modem. Knows nothing of MQTT, routes or the agent."""


def decode(command, lines, vendor=None):
    """Decode a modem response (or unsolicited lines when command is None) into a dict.

    Imported lazily so that `import modem` stays cheap on small routers."""
    from modem.decoder import decode as _decode
    return _decode(command, lines, vendor)
