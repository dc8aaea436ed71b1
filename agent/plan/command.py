"""The core's `plan` command (MQTT, the console): the site's continuity sheet, for the fleet side.

Arguments, all optional: format "json" (default: the sheet's facts) | "text" | "html", lang "fr" | "en".
The sheet is gathered on a worker thread (it reads the ledger); the state it shows (modem, SIM) is the live one,
copied on the core thread. The reply is bounded: {"format", "content", "bytes"} for text and html, refused beyond
MAX_REPLY_BYTES (the configuration bounds every text, so a sheet is far below it).
"""
from __future__ import annotations

import copy
import threading
from typing import Any

from agent.core import CommandError, Core, Deferred

ARGS = ("format", "lang")
FORMATS = ("json", "text", "html")
MAX_REPLY_BYTES = 64 * 1024


class PlanCommand:
    def __init__(self, core: Core, config):
        self.core = core
        self.config = config
        self._busy = threading.Lock()

    def __call__(self, args: dict[str, Any]) -> Deferred:
        if not isinstance(args, dict):
            raise CommandError("plan: expected an object of arguments")
        unknown = set(args) - set(ARGS)
        if unknown:
            raise CommandError(f"plan: unknown argument(s) {', '.join(sorted(map(str, unknown)))} ({', '.join(ARGS)})")
        fmt = args.get("format", "json")
        if fmt not in FORMATS:
            raise CommandError(f"format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
        lang = args.get("lang", "fr")
        if lang not in ("fr", "en"):
            raise CommandError(f"lang: expected fr or en, got {lang!r}")
        if not self._busy.acquire(blocking=False):
            raise CommandError("plan: another plan is being prepared; ask again when it is answered")
        # the core thread owns the state: a copy goes to the worker
        state = copy.deepcopy({k: self.core.state.get(k) for k in ("modem", "cellular")})
        now = self.core.wall.now()[0]
        answer = Deferred()
        threading.Thread(target=self._run, args=(answer, fmt, lang, state, now), name="plan", daemon=True).start()
        return answer

    def _run(self, answer: Deferred, fmt: str, lang: str, state: dict, now: float) -> None:
        try:
            answer.resolve(self._plan(fmt, lang, state, now))
        except CommandError as e:
            answer.reject(str(e))
        except Exception as e:   # a bug: one line back, the agent carries on
            answer.reject(f"plan: {type(e).__name__}: {e}")
        finally:
            self._busy.release()

    def _plan(self, fmt: str, lang: str, state: dict, now: float) -> Any:
        from agent.plan.cli import gather_from_disk
        from agent.plan.render import render
        sheet = gather_from_disk(self.config, now, state=state, state_as_of=now)
        if fmt == "json":
            return sheet
        text = render(sheet, fmt, lang)
        size = len(text.encode())
        if size > MAX_REPLY_BYTES:
            raise CommandError(f"plan: the {fmt} sheet is {size} bytes, more than the {MAX_REPLY_BYTES} a reply "
                               "carries: ask format json")
        return {"format": fmt, "lang": lang, "content": text, "bytes": size}


def attach(core: Core, config) -> None:
    """Registers `plan`; the handler (and the sheet's code) is imported at the first call, not at start-up."""
    handler: list[PlanCommand] = []

    def plan(args):
        if not handler:
            handler.append(PlanCommand(core, config))
        return handler[0](args)
    core.register_command("plan", plan)
