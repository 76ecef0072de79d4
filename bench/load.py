"""The load generator: Debian's wrk (C, epoll), pinned to the other core, one thread, with a
Lua script per kind of request (bench/wrk/). Reports throughput, latency percentiles, errors,
and how busy wrk itself was, to show that it is not the bottleneck."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.servers import LOAD_CORE, tool

LUA = Path(__file__).resolve().parent / "wrk"
LINE = re.compile(r"^BENCH (\{.*\})$", re.MULTILINE)


@dataclass
class Result:
    concurrency: int
    seconds: float
    requests: int
    rps: float  # operations per second (a sign-in flow counts once)
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # connect, read, write, timeout, 4xx/5xx, and answers the script found wrong
    load_cpu: float  # wrk's CPU time / wall time: near 1.0 would mean wrk is the bottleneck

    def as_dict(self) -> dict:
        return asdict(self)


def run(
    url: str,
    script: str,
    env: dict[str, str],
    *,
    concurrency: int,
    seconds: float,
    per_flow: int = 1,
    stateful: bool = False,
) -> Result:
    """One wrk run of ``seconds`` at ``concurrency`` connections. ``rps`` counts operations
    (``per_flow`` requests each); a ``stateful`` script gets a wrk thread per connection."""
    threads = concurrency if stateful else 1
    argv = [
        tool("taskset"), "-c", LOAD_CORE, tool("wrk"), "-t", str(threads),
        "-c", str(concurrency),
        "-d", f"{seconds}s", "--timeout", "10s", "-s", str(LUA / script), url,
    ]  # fmt: skip
    full_env = {**os.environ, "BENCH_LUA": str(LUA), **env}
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 - our own command
        argv,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    out, err = process.stdout.read(), process.stderr.read()
    process.returncode = os.waitstatus_to_exitcode(status)
    found = LINE.search(out)
    if process.returncode != 0 or found is None:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{out[-2000:]}\n{err[-2000:]}")
    data = json.loads(found.group(1))
    keys = ("connect", "read", "write", "status", "timeout", "failures")
    errors = sum(data[key] for key in keys)
    if err.strip():  # the scripts' first wrong answer, for the console
        print(f"    wrk: {err.strip()[:400]}", flush=True)
    duration = data["duration_us"] / 1e6
    return Result(
        concurrency=concurrency,
        seconds=round(duration, 2),
        requests=data["requests"],
        rps=round(data["requests"] / per_flow / duration, 1),
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        errors=errors,
        load_cpu=round((usage.ru_utime + usage.ru_stime) / wall, 3),
    )
