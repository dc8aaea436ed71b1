"""`relais doctor`: what is wrong on this box and what to do about it (issue 12 §5), and the signal verdicts that
`relais signal --watch` shares (§6).

    check.py    Check(name, level, detail, advice) and the levels OK / SKIP / WARN / FAIL
    radio.py    the one table that grades a signal (excellent ... no signal), with its sources; the bar
    checks.py   one pure function per check: facts in, a Check out (table-tested)
    facts.py    the IO: files, /proc, systemd, the kernel clock, the modem (through the agent or on its port)
    broker.py   TCP, TLS and a real MQTT CONNECT to the configured broker
    live.py     the agent's side: core command "signal_now", a fresh reading shared by all who ask meanwhile
    cli.py      the command: gather, judge, print (or --json), exit 1 on any FAIL
"""
