"""`relais plan`: the site's one-page continuity sheet (issue 15): what to do when the Internet is cut, whom to
call, which equipment and contracts, the last drill and the next one.

    sheet.py      gather(config, now, ...) -> dict: the sheet's facts (pure; the JSON form is this dict)
    words.py      French (default) and English words, the default steps, the LED legend's words
    render.py     one self-contained A4 page (HTML, print CSS), or text for an 80-column serial console
    sources.py    what the sheet reads: the router's model, the status file, the ledger's recent drills
    cli.py        `relais plan`
    command.py    the core's `plan` command (MQTT, the console), answered from a worker thread

Reads the configuration, the ledger (through agent.ledger.read_period) and the state; writes nothing.
Nothing is imported here: the agent imports command.py (it registers `plan`), the rest at the first call.
"""
