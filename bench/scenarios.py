"""What each scenario sends: the path, the wrk script and its environment. A scenario that
consumes what it sends (refresh tokens rotate) gets fresh material for every run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import Result, run

Prepare = Callable[[int, Path], dict[str, str]]  # (connections, folder) -> extra wrk env


@dataclass
class Scenario:
    name: str
    title: str
    path: str
    script: str
    env: dict[str, str] = field(default_factory=dict)
    prepare: Prepare | None = None  # per run, for consumable material
    per_flow: int = 1  # requests that make one operation (a sign-in is two)
    stateful: bool = False  # steps alternate per connection: one wrk thread per connection

    def wrk_env(self, connections: int, folder: Path) -> dict[str, str]:
        extra = self.prepare(connections, folder) if self.prepare else {}
        return {"BENCH_PATH": self.path, **self.env, **extra}

    def drive(self, base_url: str, connections: int, seconds: float, folder: Path) -> Result:
        """One wrk run of this scenario against the server at ``base_url``."""
        return run(
            base_url + self.path,
            self.script,
            self.wrk_env(connections, folder),
            concurrency=connections,
            seconds=seconds,
            per_flow=self.per_flow,
            stateful=self.stateful,
        )


def token_file(tokens: list[str], folder: Path, name: str) -> dict[str, str]:
    """The wrk env of refresh.lua for ``tokens`` (one thread takes them all)."""
    path = folder / name
    path.write_text("\n".join(tokens) + "\n", encoding="ascii")
    return {"BENCH_TOKENS": str(path), "BENCH_PER_THREAD": str(len(tokens))}


def client_credentials(name: str, alg: str, path: str, auth: str, scope: str) -> Scenario:
    return Scenario(
        name,
        f"client_credentials, JWT access token {alg}",
        path,
        "form.lua",
        {"BENCH_BODY": f"grant_type=client_credentials&scope={scope}", "BENCH_AUTH": auth},
    )


def refresh(name: str, alg: str, path: str, auth: str, mint: Callable[[int], list[str]]):
    def prepare(connections: int, folder: Path) -> dict[str, str]:
        # wrk builds a request when it opens a connection and again if it reconnects: spares
        return token_file(mint(2 * connections + 8), folder, f"{name}-{connections}.txt")

    return Scenario(
        name,
        f"refresh_token with rotation, JWT access token {alg}",
        path,
        "refresh.lua",
        {"BENCH_AUTH": auth},
        prepare,
    )


def introspection(name: str, title: str, auth: str, body: str) -> Scenario:
    return Scenario(
        name, title, "/oidc/introspect", "form.lua", {"BENCH_BODY": body, "BENCH_AUTH": auth}
    )


def signin(name: str, title: str, users: Path, city: str, password: str) -> Scenario:
    return Scenario(
        name,
        title,
        f"/login/{city}",
        "signin.lua",
        {"BENCH_USERS": str(users), "BENCH_CITY": city, "BENCH_PASSWORD": password},
        per_flow=2,
        stateful=True,
    )


def sso(sessions: Path, authorize: str, token_body: str, auth: str) -> Scenario:
    return Scenario(
        "sso",
        "single sign-on at a second service: authorize, code, token",
        "/oidc/authorize",
        "sso.lua",
        {
            "BENCH_SESSIONS": str(sessions),
            "BENCH_AUTHORIZE": authorize,
            "BENCH_TOKEN_BODY": token_body,
            "BENCH_AUTH": auth,
        },
        per_flow=2,
        stateful=True,
    )


BARE = Scenario(
    "bare", "bare Flask endpoint (the stack's ceiling)", "/", "form.lua", {"BENCH_METHOD": "GET"}
)
