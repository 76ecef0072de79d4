"""Where a scenario's time goes: py-spy samples the broker's worker process (from outside, so
the broker runs unmodified) while wrk drives the scenario, and the samples are summarised as
the functions holding the most time, inclusive and exclusive (the report prints them)."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

from bench.scenarios import Scenario
from bench.servers import Running

BIN = Path(sys.executable).parent
CONNECTIONS = 8
OURS = ("idp/", "consent/", "federation/", "keys/")


def worker_pid(running: Running) -> int:
    """The process doing the work: the largest of the server's processes."""
    sizes = running.rss_kib()
    return max(sizes, key=sizes.get)


def record(running: Running, scenario: Scenario, seconds: float, folder: Path) -> Path:
    """Drive ``scenario`` for ``seconds`` while py-spy samples the worker; the raw stacks."""
    out = folder / f"{scenario.name}.stacks"
    spy = [str(BIN / "py-spy"), "record", "--pid", str(worker_pid(running)), "--rate", "250",
           "--duration", str(int(seconds)), "--format", "raw", "--output", str(out),
           "--nonblocking"]  # fmt: skip
    recorder = threading.Thread(
        target=subprocess.run, args=(spy,), kwargs={"capture_output": True, "check": False}
    )
    recorder.start()
    scenario.drive(running.url, CONNECTIONS, seconds + 1, folder)
    recorder.join()
    return out


def _short(frame: str) -> str:
    """``func (path/to/file.py:12)`` -> ``func (file.py)``, the project's files with their
    package (idp/oidc/grants.py)."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for root in OURS:
        if f"/{root}" in f"/{path}":
            return f"{name} ({root}{f'/{path}'.split('/' + root, 1)[-1]})"
    return f"{name} ({'/'.join(path.split('/')[-2:])})"


def summary(stacks: Path, top: int = 18) -> dict:
    """The project's ``top`` functions by inclusive share of the samples (what each costs with
    all it calls), and any code's ``top`` functions by exclusive share (where time is spent)."""
    inclusive, exclusive, total = Counter(), Counter(), 0
    if not stacks.exists():
        return {"samples": 0, "inclusive": [], "exclusive": []}
    for line in stacks.read_text(encoding="utf-8", errors="replace").splitlines():
        trace, _, count = line.rpartition(" ")
        if not trace or not count.isdigit():
            continue
        frames = [_short(frame) for frame in trace.split(";")]
        samples = int(count)
        total += samples
        for frame in set(frames):
            if any(f"({root}" in frame for root in OURS):
                inclusive[frame] += samples
        exclusive[frames[-1]] += samples

    def share(counter: Counter) -> list[tuple[str, float]]:
        return [(frame, round(100 * n / total, 1)) for frame, n in counter.most_common(top)]

    return {"samples": total, "inclusive": share(inclusive), "exclusive": share(exclusive)}
