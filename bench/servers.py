"""Starting what is measured, pinned to one core: the broker under the production WSGI server,
the bare Flask app under the same server, and the oidc-provider peer; and reading the memory of
their worker processes."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SERVER_CORE, LOAD_CORE = "0", "1"

# The production server and its settings, chosen by measurement (docs/benchmarks.md): one
# worker process per vCPU; with PostgreSQL four threads per worker, so that one request's
# Python runs while another waits on the database (+35 % refresh and single sign-on here);
# with SQLite one (the database's own write lock made more threads wait: p99 of 0.7 s).
THREADS = {"postgresql": 4, "sqlite": 1}
SERVERS = {
    "granian": lambda app, port, factory, threads: [
        str(BIN / "granian"), "--interface", "wsgi", "--workers", "1",
        "--blocking-threads", str(threads), "--host", "127.0.0.1", "--port", str(port),
        "--backlog", "2048", "--no-access-log", *(["--factory"] if factory else []), app,
    ],
    "gunicorn": lambda app, port, factory, threads: [
        str(BIN / "gunicorn"), "--workers", "1", "--worker-class", "gthread",
        "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--backlog", "2048",
        "--keep-alive", "30", app + ("()" if factory else ""),
    ],
}  # fmt: skip


def tool(name: str) -> str:
    """The full path of a command the benchmark needs (bench/setup.sh installs them)."""
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed: run bench/setup.sh (make bench does)")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Running:
    """A started server: its process group, base URL and log."""

    name: str
    process: subprocess.Popen
    url: str
    log: Path
    peak_rss: dict[int, int] = field(default_factory=dict)

    def workers(self) -> list[int]:
        """The server's process and its descendants (granian and gunicorn fork workers)."""
        pids, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            todo.extend(int(child) for child in children)
        return pids

    def rss_kib(self) -> dict[int, int]:
        """Resident memory (KiB) of each process now."""
        out = {}
        for pid in self.workers():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        out[pid] = int(line.split()[1])
            except OSError:
                continue
        return out

    def cpu_seconds(self) -> float:
        """User and system CPU time used so far by the server's processes."""
        ticks = 0
        for pid in self.workers():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (proc(5))
        return ticks / os.sysconf("SC_CLK_TCK")

    def settle(self, window: float = 0.2, limit: float = 15.0) -> None:
        """Wait until the server is idle: when wrk stops, the requests its connections had
        sent are still queued in the worker and would otherwise slow the next measurement
        (64 abandoned requests made the first points' p99 hundreds of milliseconds)."""
        deadline = time.monotonic() + limit
        used = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(window)
            now = self.cpu_seconds()
            if now - used <= window / 10:
                return
            used = now

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@contextmanager
def postgres_on_load_core(url: str) -> Iterator[None]:
    """PostgreSQL's new backends on the load core while the benchmark runs, as if the database
    ran on a machine of its own; otherwise the kernel often wakes a backend on the broker's
    core, and the broker's figure would include the database's work. The postmaster's
    affinity (which new backends inherit) is put back afterwards."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    try:  # a local server (BENCH_POSTGRES_URL may name another machine) that we may pin
        status = Path(f"/proc/{backend}/status").read_text()
        ppid = next(line for line in status.splitlines() if line.startswith("PPid:"))
        postmaster = int(ppid.split()[1])
        before = os.sched_getaffinity(postmaster)
        os.sched_setaffinity(postmaster, {int(LOAD_CORE)})
    except (OSError, StopIteration, ValueError):
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(postmaster, before)


def start(name: str, argv: list[str], env: dict, base: str, ready: str, log: Path) -> Running:
    """Start ``argv`` pinned to the server core in its own process group; wait until
    ``base + ready`` answers."""
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own commands
            [tool("taskset"), "-c", SERVER_CORE, *argv],
            cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(base + ready, timeout=2):  # noqa: S310 - loopback
                return Running(name, process, base, log)
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"{name} did not start:\n{tail}")


def broker(server: str, env: dict, folder: Path) -> Running:
    """The broker on the port of its issuer (env DIGIONE_SERVER_ISSUER)."""
    port = int(env["DIGIONE_SERVER_ISSUER"].rsplit(":", 1)[1])
    backend = "postgresql" if env["DIGIONE_DATABASE_URL"].startswith("postgresql") else "sqlite"
    argv = SERVERS[server]("idp:create_app", port, True, THREADS[backend])
    base = f"http://127.0.0.1:{port}"
    return start(f"broker ({server})", argv, env, base, "/healthz", folder / "broker.log")


def bare(server: str, folder: Path) -> Running:
    port = free_port()
    argv = SERVERS[server]("bench.bare_app:create_app", port, True, 1)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    base = f"http://127.0.0.1:{port}"
    return start(f"bare Flask ({server})", argv, env, base, "/", folder / "bare.log")


def peer(alg: str, refresh_tokens: int, folder: Path) -> tuple[Running, Path]:
    """oidc-provider (bench/peer/peer.mjs) signing with ``alg``; its pre-minted refresh tokens."""
    port = free_port()
    tokens = folder / f"peer-{alg}-refresh.txt"
    env = {
        **os.environ,
        "PEER_PORT": str(port),
        "PEER_ALG": alg,
        "PEER_REFRESH_TOKENS": str(refresh_tokens),
        "PEER_REFRESH_FILE": str(tokens),
        "NODE_ENV": "production",
    }
    argv = [tool("node"), str(ROOT / "bench" / "peer" / "peer.mjs")]
    base, ready = f"http://127.0.0.1:{port}", "/.well-known/openid-configuration"
    log = folder / f"peer-{alg}.log"
    return start(f"oidc-provider ({alg})", argv, env, base, ready, log), tokens
