"""`make bench`: every scenario, DigiOne and the oidc-provider peer side by side in one run.

The server under test is pinned to core 0 (one worker: figures are per vCPU) and wrk to core
1. Each scenario warms up, then runs for a fixed time at each concurrency of the sweep; the
results go to bench/results/<date>-<host>.json and docs/benchmarks.md (bench.report).

    python -m bench.run [--quick] [--only NAME,...] [--backends sqlite,postgresql]
                        [--server granian|gunicorn]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path

from bench import fixtures, ldap, profile, scenarios, servers
from bench.scenarios import Scenario

RESULTS = Path(__file__).resolve().parent / "results"
FULL = {"concurrency": [1, 8, 32, 64], "seconds": 6, "warmup": 2, "children": 1_000_000,
        "log_leaves": 10_000_000, "soak_seconds": 300, "profile_seconds": 5}  # fmt: skip
# Quick: a sanity sweep under 3 minutes, without the profiles.
QUICK = {"concurrency": [1, 32], "seconds": 2, "warmup": 1, "children": 10_000,
         "log_leaves": 100_000, "soak_seconds": 15, "profile_seconds": 0}  # fmt: skip
LOG_SCENARIOS = {"log_inclusion", "log_consistency"}
SOAK_CONNECTIONS = 8
# Scenarios with a target: py-spy samples the worker for the report's hot-path profile.
PROFILED = {"cc_rs256", "cc_es256", "refresh", "sso", "signin", "signin_ldap", "exchange",
            "log_inclusion"}  # fmt: skip
PEER_SECRET = "bench-secret-bench-secret-bench-secret"


class MemoryWatch:
    """Samples the server processes' resident memory while a scenario runs."""

    def __init__(self, running: servers.Running, every: float = 0.5):
        self.running, self.every = running, every
        self.samples: list[tuple[float, dict[int, int]]] = []
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.every)

    def _sample(self) -> None:
        self.samples.append((time.monotonic() - self.started, self.running.rss_kib()))

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def summary(self) -> dict:
        """Per process of the server: first, peak and last RSS in KiB."""
        per: dict[int, list[int]] = {}
        for _at, sample in self.samples:
            for pid, kib in sample.items():
                per.setdefault(pid, []).append(kib)
        return {str(pid): {"first": v[0], "peak": max(v), "last": v[-1]} for pid, v in per.items()}

    def series(self) -> list[tuple[float, int]]:
        """(seconds, KiB) of the largest process (the worker) at each sample."""
        return [(round(at, 1), max(sample.values(), default=0)) for at, sample in self.samples]


def soak(
    running: servers.Running,
    scenario: Scenario,
    plan: dict,
    folder: Path,
    meta: dict,
    during: str = "",
) -> dict:
    """One long run of ``scenario`` with the worker's memory sampled every 5 s: is it flat?"""
    seconds = plan["soak_seconds"]
    print(f"{running.name}, {meta['backend']}: memory soak, {seconds} s of {scenario.name}")
    with MemoryWatch(running, every=5.0) as memory:
        result = scenario.drive(running.url, SOAK_CONNECTIONS, seconds, folder)
    first, last = memory.series()[0][1] / 1024, memory.series()[-1][1] / 1024
    print(
        f"  soak: {result.rps:.1f}/s errors {result.errors}; worker {first:.1f} -> {last:.1f} MiB"
    )
    title = f"memory soak: {scenario.title}, {SOAK_CONNECTIONS} connections, {seconds} s{during}"
    return {**meta, "scenario": "soak", "title": title, "results": [result.as_dict()],
            "memory_kib": memory.summary(), "memory_series": memory.series()}  # fmt: skip


class TokenPool:
    """The peer's pre-minted refresh tokens, handed out once each."""

    def __init__(self, tokens: list[str]):
        self.tokens = tokens

    def take(self, count: int) -> list[str]:
        taken, self.tokens = self.tokens[:count], self.tokens[count:]
        if len(taken) < count:
            raise RuntimeError("the peer's pre-minted refresh tokens ran out")
        return taken


def sweep(running: servers.Running, scenario: Scenario, plan: dict, folder: Path) -> dict:
    """Warm up, then one wrk run per concurrency; memory watched throughout."""
    results = []
    with MemoryWatch(running) as memory:
        warm = scenario.drive(running.url, max(plan["concurrency"]), plan["warmup"], folder)
        if warm.errors:  # counted too: a warm-up at full concurrency finds races
            print(f"  {scenario.name:<22} warm-up: errors {warm.errors}", flush=True)
        for connections in plan["concurrency"]:
            running.settle()
            result = scenario.drive(running.url, connections, plan["seconds"], folder)
            print(
                f"  {scenario.name:<22} c={connections:<3} {result.rps:>9.1f}/s "
                f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:7.2f} ms  "
                f"errors {result.errors}  wrk cpu {result.load_cpu:.2f}",
                flush=True,
            )
            results.append(result.as_dict())
    return {"results": results, "warmup_errors": warm.errors, "memory_kib": memory.summary()}


def measure(
    todo: list[Scenario],
    running: servers.Running,
    plan: dict,
    folder: Path,
    only: set[str] | None,
    meta: dict,
) -> list[dict]:
    """Sweep each scenario of ``todo`` (those in ``only``) on ``running``."""
    runs = []
    for scenario in todo:
        if only and scenario.name not in only:
            continue
        print(f"{running.name}, {meta['backend']}: {scenario.title}", flush=True)
        outcome = sweep(running, scenario, plan, folder)
        running.settle()
        if meta["system"] == "digione" and scenario.name in PROFILED and plan["profile_seconds"]:
            stacks = profile.record(running, scenario, plan["profile_seconds"], folder)
            outcome["profile"] = profile.summary(stacks)
        runs.append({**meta, "scenario": scenario.name, "title": scenario.title, **outcome})
    return runs


def consent_exchange(
    plan: dict, env: dict, seeding: fixtures.Broker, seeded: fixtures.Seeded, folder: Path
) -> list[Scenario]:
    """Scenario 6: the consent history of plan["children"] children (10 events each) in
    PostgreSQL, and token exchange for children picked at random; and the administrators'
    list of those records with the console's filters."""
    from bench import seed_consent

    recipient, metadata = fixtures.consent_purpose(seeding, seeded.rs)
    print(f"seeding {plan['children']:,} children's consent history", flush=True)
    subs = seed_consent.seed(
        env["DIGIONE_DATABASE_URL"],
        plan["children"],
        purpose=(fixtures.CONSENT_PURPOSE, 1),
        source=seeded.rs.client_id,
        recipient=recipient.client_id,
        recipient_metadata=metadata,
        pairwise_secret=env["DIGIONE_OIDC_PAIRWISE_SECRET"].encode(),
    )
    subs_file = folder / "subs.txt"
    subs_file.write_text("\n".join(subs) + "\n", encoding="ascii")
    body = (
        f"grant_type={fixtures.TOKEN_EXCHANGE}&subject_token_type={fixtures.PAIRWISE_SUB}"
        f"&purpose={fixtures.CONSENT_PURPOSE}&audience={seeded.rs.client_id}"
    )
    queries = folder / "list-queries.txt"
    queries.write_text(
        "\n".join(fixtures.list_queries(plan["children"], seed_consent.SCHOOLS)) + "\n",
        encoding="ascii",
    )
    return [
        Scenario(
            "exchange",
            f"consent-bound token exchange, {plan['children']:,} children, 10 events each",
            "/oidc/token",
            "exchange.lua",
            {"BENCH_SUBS": str(subs_file), "BENCH_BODY": body, "BENCH_AUTH": recipient.basic},
        ),
        Scenario(
            "admin_list",
            f"administrators' list, filtered page of 50, {3 * plan['children']:,} records",
            "/admin/api/consents",
            "list.lua",
            {"BENCH_QUERIES": str(queries), "BENCH_AUTH": fixtures.admin_tool(seeding)},
        ),
    ]


def consent_log(plan: dict, env: dict) -> list[Scenario]:
    """Scenarios 7 and 8: the audit log grown by plan["log_leaves"] leaves (appended after the
    broker's own), and RFC 9162 inclusion and consistency proofs against the tree's size then,
    at indexes and sizes picked at random."""
    from bench import seed_ledger

    print(f"seeding {plan['log_leaves']:,} leaves of the audit log", flush=True)
    size = seed_ledger.seed(env["DIGIONE_DATABASE_URL"], plan["log_leaves"])
    title = f"audit log: {{}} proof, {size:,} leaves"
    return [
        Scenario("log_inclusion", title.format("inclusion"), "/consent-log/proof/inclusion",
                 "proof.lua", {"BENCH_SIZE": str(size), "BENCH_PARAMS": "index,size"}),
        Scenario("log_consistency", title.format("consistency"), "/consent-log/proof/consistency",
                 "proof.lua", {"BENCH_SIZE": str(size), "BENCH_PARAMS": "old,new"}),
    ]  # fmt: skip


def digione(plan: dict, backend: str, server: str, only: set[str] | None, root: Path) -> list:
    """The broker's scenarios on one storage backend."""
    runs = []
    folder = root / f"digione-{backend}"
    folder.mkdir()
    width = max(plan["concurrency"])
    with (
        fixtures.database(backend, folder) as url,
        servers.postgres_on_load_core(url) if backend == "postgresql" else nullcontext(),
        ldap.directory(folder, width) as (ldap_env, ldap_users),
    ):
        env = {**fixtures.broker_env(url, folder), **ldap_env}
        env["DIGIONE_SERVER_ISSUER"] = f"http://127.0.0.1:{servers.free_port()}"
        seeding = fixtures.Broker(env)
        seeded = seeding.seed()
        running = servers.broker(server, env, folder)
        try:
            rp = seeded.rp
            users = seeding.accounts(width)
            users_file = folder / "users.txt"
            users_file.write_text("\n".join(users) + "\n", encoding="ascii")
            ldap_users_file = folder / "ldap-users.txt"
            ldap_users_file.write_text("\n".join(ldap_users) + "\n", encoding="ascii")
            sessions = folder / "sessions.txt"
            cookies = fixtures.sso_cookies(running.url, users)
            sessions.write_text("\n".join(cookies) + "\n", encoding="ascii")
            authorize, token_body = fixtures.authorization(rp.client_id)
            kept_refresh = seeding.refresh_tokens(rp.client_id, 1)[0]
            jwt = seeding.access_token(seeded.cc["RS256"].client_id)
            cc = seeded.cc
            todo = [
                scenarios.client_credentials(
                    "cc_rs256", "RS256", "/oidc/token", cc["RS256"].basic, "edu:school"
                ),
                scenarios.client_credentials(
                    "cc_es256", "ES256", "/oidc/token", cc["ES256"].basic, "edu:school"
                ),
                scenarios.refresh(
                    "refresh",
                    "RS256",
                    "/oidc/token",
                    rp.basic,
                    lambda n: seeding.refresh_tokens(rp.client_id, n),
                ),
                scenarios.introspection(
                    "introspect_jwt",
                    "introspection of a JWT access token",
                    seeded.rs.basic,
                    f"token={jwt}",
                ),
                scenarios.introspection(
                    "introspect_refresh",
                    "introspection of a refresh token",
                    rp.basic,
                    f"token={kept_refresh}&token_type_hint=refresh_token",
                ),
                scenarios.sso(sessions, authorize, token_body, rp.basic),
                scenarios.signin(
                    "signin",
                    "full sign-in, embedded directory (argon2id)",
                    users_file,
                    fixtures.CITY,
                    fixtures.PASSWORD,
                ),
                scenarios.signin(
                    "signin_ldap",
                    "full sign-in, LDAP directory (slapd checks the password)",
                    ldap_users_file,
                    ldap.CITY,
                    ldap.USER_PASSWORD,
                ),
            ]
            meta = {"system": "digione", "backend": backend, "server": server}
            with ThreadPoolExecutor(max_workers=1) as background:
                seeder = None
                if backend == "postgresql" and (not only or only & {"exchange", "admin_list"}):
                    seeder = background.submit(consent_exchange, plan, env, seeding, seeded, folder)
                if backend == "postgresql" and (not only or "soak" in only):
                    # The soak measures memory, not speed: it runs while PostgreSQL writes the
                    # consent history (which takes as long), so the whole run stays short.
                    sso = next(scenario for scenario in todo if scenario.name == "sso")
                    during = " while the consent history is written" if seeder else ""
                    runs.append(soak(running, sso, plan, folder, meta, during))
                if seeder is not None:
                    todo += seeder.result()
                if backend == "postgresql" and (not only or only & LOG_SCENARIOS):
                    todo += consent_log(plan, env)
            runs += measure(todo, running, plan, folder, only, meta)
        finally:
            running.stop()
    return runs


def peer(plan: dict, only: set[str] | None, root: Path) -> list:
    """oidc-provider, configured for the same work, pinned the same way."""
    runs = []
    auth = fixtures.Client("bench-cc", PEER_SECRET).basic
    needed = (
        (sum(plan["concurrency"]) + max(plan["concurrency"])) * 2
        + 16 * len(plan["concurrency"])
        + 16
    )
    for alg in ("RS256", "ES256"):
        wanted = [f"peer_cc_{alg.lower()}", f"peer_refresh_{alg.lower()}"]
        if only and not only & set(wanted):
            continue
        folder = root / f"peer-{alg}"
        folder.mkdir()
        running, token_path = servers.peer(alg, needed, folder)
        try:
            take = TokenPool(token_path.read_text().split()).take
            todo = [
                scenarios.client_credentials(wanted[0], alg, "/token", auth, "api:read"),
                scenarios.refresh(wanted[1], alg, "/token", auth, take),
            ]
            meta = {"system": "oidc-provider", "backend": "memory", "server": "node"}
            runs += measure(todo, running, plan, folder, only, meta)
        finally:
            running.stop()
    return runs


def bare(plan: dict, server: str, root: Path) -> list:
    folder = root / "bare"
    folder.mkdir()
    running = servers.bare(server, folder)
    try:
        print(f"bare Flask, {server}", flush=True)
        outcome = sweep(running, scenarios.BARE, plan, folder)
    finally:
        running.stop()
    return [{"system": "flask", "scenario": "bare", "title": scenarios.BARE.title,
             "backend": "-", "server": server, **outcome}]  # fmt: skip


def openssl_speed() -> dict[str, float]:
    """Signatures per second of OpenSSL on the server's core: the machine's yardstick (the
    targets were set on a machine signing RSA-2048 at about 4,000/s and ECDSA P-256 at about
    52,000/s)."""
    out = {}
    for name, alg in (("rsa2048_sign", "rsa2048"), ("ecdsap256_sign", "ecdsap256")):
        done = subprocess.run(  # noqa: S603 - our own command
            [servers.tool("taskset"), "-c", servers.SERVER_CORE, servers.tool("openssl"),
             "speed", "-seconds", "2", alg],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        lines = [line.split() for line in done.stdout.splitlines() if line.strip()]
        if lines and len(lines[-1]) >= 2:
            with contextlib.suppress(ValueError):
                out[name] = float(lines[-1][-2])  # "... sign verify sign/s verify/s"
    return out


def machine() -> dict:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "host": socket.gethostname(),
        "cpu": model,
        "openssl": openssl_speed(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short sweep (under 3 minutes)")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--server", default="granian", choices=sorted(servers.SERVERS))
    parser.add_argument("--no-report", action="store_true", help="write only the JSON")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    only = {name for name in args.only.split(",") if name} or None
    started = time.monotonic()
    runs: list = []
    with tempfile.TemporaryDirectory(prefix="digione-bench-") as tmp:
        root = Path(tmp)
        if not only or "bare" in only:
            runs += bare(plan, args.server, root)
        for backend in args.backends.split(","):
            runs += digione(plan, backend, args.server, only, root)
        runs += peer(plan, only, root)
    now = datetime.now(UTC)
    document = {
        "date": now.isoformat(timespec="seconds"),
        "machine": machine(),
        "plan": {**plan, "quick": args.quick, "server": args.server, "threads": servers.THREADS},
        "minutes": round((time.monotonic() - started) / 60, 1),
        "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    kind = ("-quick" if args.quick else "") + ("-partial" if only else "")  # never over a full one
    out = RESULTS / f"{now:%Y-%m-%d}-{socket.gethostname()}{kind}.json"
    out.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(f"results: {out} ({document['minutes']} min)")
    if not args.no_report:
        from bench import report

        print(f"report: {report.write(document)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
