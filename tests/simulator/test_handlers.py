"""Command handlers see the simulated modem only through handlers.base.Modem, and the engine provides all of it."""
from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from modem.simulator import handlers
from modem.simulator.engine import Engine
from modem.simulator.handlers.base import Modem
from modem.simulator.personalities import PERSONALITIES

HANDLER_FILES = sorted(Path(handlers.__file__).parent.glob("*.py"))


def _interface() -> set[str]:
    names = set(Modem.__annotations__)
    names |= {n for n, v in vars(Modem).items() if inspect.isfunction(v) and not n.startswith("_")}
    return names


@pytest.mark.parametrize("vendor", sorted(PERSONALITIES))
def test_engine_provides_the_whole_interface(vendor):
    engine = Engine(PERSONALITIES[vendor], speed=0, seed=1)
    missing = [n for n in sorted(_interface()) if not hasattr(engine, n)]
    assert missing == []


@pytest.mark.parametrize("path", HANDLER_FILES, ids=lambda p: p.name)
def test_handlers_use_only_the_interface(path):
    # `e` is the modem in every handler: an attribute outside the interface (a private method of the engine,
    # say) would tie the handlers to the engine's insides again.
    interface = _interface()
    used = {node.attr for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "e"}
    assert sorted(used - interface) == []


def test_every_personality_gets_its_vendors_handlers():
    for p in PERSONALITIES.values():
        table = handlers.handlers_for(p)
        assert "+CSQ" in table and "+CFUN" in table
        assert ("+QENG" in table) == (p.family == "quectel")


def test_detach_drops_the_data_call():
    # AT+CGATT=0 ends the data call once the OK is out (a handler calling past the interface broke this unseen).
    from tests.simulator.test_engine import Clocked
    c = Clocked(speed=0)
    c.send('AT+CGDCONT=1,"IP","internet"\r')
    c.send("AT+CGACT=1,1\r")
    c.wait(1)
    assert c.e.model.data_active
    c.take()
    c.send("AT+CGATT=0\r")
    c.wait(1)
    assert c.take().endswith("OK\r\n") and not c.e.model.data_active
