"""kill -9 campaign: an agent process emits events continuously and is SIGKILLed at random moments, again and
again; then it runs once more to drain its outbox. Every event it had accepted must reach the fleet side."""
from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.mqtt.broker import Broker
from tests.mqtt.conftest import write_config
from tests.mqtt.fleet import Fleet

REPO = Path(__file__).resolve().parents[2]
DEVICE = "dev-k"


def agent_process(config: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.mqtt.agent_proc", "--config", str(config), *extra],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def campaign(broker: Broker, workdir: Path, runs: int, seed: int = 6, emit_every: float = 0.01,
             alive: tuple[float, float] = (0.5, 2.0), drain_timeout: float = 60.0) -> dict:
    rng = random.Random(seed)
    config = write_config(workdir, broker, DEVICE, payload="cbor")
    accepted_file = workdir / "accepted.txt"
    with Fleet(broker, client_id="fleet-k", subscribe=f"relais/v1/{DEVICE}/event") as fleet:
        for i in range(runs):
            proc = agent_process(config, "--emit-every", str(emit_every), "--tag", f"r{i}",
                                 "--accepted", str(accepted_file))
            time.sleep(rng.uniform(*alive))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        text = accepted_file.read_text() if accepted_file.exists() else ""
        accepted = text.split("\n")[:-1]   # a line cut by the kill is not counted as accepted
        final = agent_process(config)
        try:
            deadline = time.monotonic() + drain_timeout
            while time.monotonic() < deadline:
                tags = [e["data"]["tag"] for e in fleet.events(DEVICE, "test_event")]
                if set(accepted) <= set(tags):
                    break
                time.sleep(0.2)
        finally:
            final.send_signal(signal.SIGTERM)
            final.wait(15)
        events = fleet.events(DEVICE, "test_event")
    tags = [e["data"]["tag"] for e in events]
    seqs = [e["seq"] for e in events]
    return {
        "runs": runs,
        "accepted": len(accepted),
        "delivered": len(set(tags)),
        "lost": sorted(set(accepted) - set(tags)),
        "duplicates": len(tags) - len(set(tags)),
        "seq_unique_per_event": len({(t, s) for t, s in zip(tags, seqs)}) == len(set(tags)),
    }
