"""`relais report`: the ledger's evidence as a report a business can take to its operator (issue 11).

    compute.py    compute(period, settings) -> dict: the figures (pure; the JSON report is this dict)
    hours.py      business hours and zones applied to Unix time; interval arithmetic
    period.py     --month / --since / --until (and the MQTT command's) into a [since, until) in a zone
    render.py     render(report, format, lang, claim): text.py, table.py (CSV), html.py + timeline.py (SVG),
                  claim.py (one page for a claim), JSON
    language.py   French (default) and English words, dates, durations, numbers
    cli.py        `relais report`
    command.py    the MQTT / core `report` command: the same options, answered from a worker thread
    sample.py     a made-up year of every kind of record, seeded (the benchmark, tests)

Reads the ledger only through agent.ledger.read_period and its records: the report never writes.
Nothing is imported here: the agent imports command.py at the first `report` command, the rest when it runs.
"""
