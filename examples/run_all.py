"""`make run`: the broker (`digione serve`) and one example service per demo client in
config/demo/clients/ (the learning service on 5001, the reading app on 5002). Ctrl-C (SIGINT)
or SIGTERM stops all of them; so does any one of them exiting.

PORT (default 5000) is the broker's port; its issuer is DIGIONE_SERVER_ISSUER, by default
http://127.0.0.1:PORT. The example services' ports come from their registered redirect URIs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "examples" / "learning_service" / "app.py"
DIGIONE = Path(sys.executable).with_name("digione")
CITIES = "espoo oulu tampere turku vantaa"
USERS = "pupil1 pupil2 guardian1 guardian2 guardian3 teacher1 admin1"
DEMO_TOTP = "DIGIONEDEMOADMINSECONDFACTOR2345"  # idp.signin.totp.DEMO_SECRET


def demo_services(folder: Path) -> list[dict]:
    """One example service per demo client file with a redirect URI (the source system
    demo-school-admin has none: it serves no pages): port, client_id, secret and names."""
    services = []
    for path in sorted((folder / "demo" / "clients").glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        metadata = data["metadata"]
        if not metadata.get("redirect_uris"):
            continue
        purpose = next(
            (p for p in demo_purposes(folder) if p["recipient"] == data["client_id"]), {}
        )
        services.append(
            {
                "EXAMPLE_PURPOSE": purpose.get("id", ""),
                "EXAMPLE_SOURCE": purpose.get("source", ""),
                "EXAMPLE_PORT": str(urlsplit(metadata["redirect_uris"][0]).port),
                "EXAMPLE_CLIENT_ID": data["client_id"],
                "EXAMPLE_CLIENT_SECRET": data["client_secret"],
                "EXAMPLE_TITLE": metadata["client_name"],
                "EXAMPLE_TITLE_FI": metadata.get("client_name#fi", metadata["client_name"]),
            }
        )
    return services


def demo_purposes(folder: Path) -> list[dict]:
    """The demo data-sharing purposes (config/demo/purposes/): each service shows the one it
    is the recipient of."""
    paths = sorted((folder / "demo" / "purposes").glob("*.toml"))
    return [tomllib.loads(path.read_text(encoding="utf-8")) for path in paths]


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback URL
                return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    return False


def stop(running: list[tuple[str, subprocess.Popen]]) -> None:
    for _, process in running:
        if process.poll() is None:
            process.terminate()
    for _, process in running:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> int:
    port = int(os.environ.get("PORT", "5000"))
    issuer = os.environ.get("DIGIONE_SERVER_ISSUER") or f"http://127.0.0.1:{port}"
    folder = Path(os.environ.get("DIGIONE_CONFIG") or ROOT / "config")
    running: list[tuple[str, subprocess.Popen]] = []

    def on_signal(signum, _frame):
        raise KeyboardInterrupt

    # Also SIGINT: a shell without job control starts background jobs with SIGINT ignored.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        broker_env = {**os.environ, "DIGIONE_SERVER_ISSUER": issuer}
        argv = [str(DIGIONE), "serve", "--port", str(port)]
        broker = subprocess.Popen(argv, env=broker_env)  # noqa: S603 - our own command
        running.append(("DigiOne broker", broker))
        urls = [("DigiOne broker", f"http://127.0.0.1:{port}/")]
        for service in demo_services(folder):
            env = {**os.environ, **service, "EXAMPLE_BROKER_URL": issuer}
            process = subprocess.Popen([sys.executable, str(APP)], env=env)  # noqa: S603
            running.append((service["EXAMPLE_TITLE"], process))
            urls.append((service["EXAMPLE_TITLE"], f"http://127.0.0.1:{service['EXAMPLE_PORT']}/"))
        ready = [("broker", f"http://127.0.0.1:{port}/healthz"), *urls[1:]]
        for (_, url), (name, process) in zip(ready, running, strict=True):
            if not wait_until_up(url, process):
                print(f"run_all: {name} did not start on {url} (is the port in use?)")
                return 1
        width = max(len(name) for name, _ in urls)
        print("\n" + "\n".join(f"  {name:<{width}}  {url}" for name, url in urls))
        print(f"\n  Sign in as pupil1, password demo, city espoo (cities: {CITIES};")
        print(f"  users in every city: {USERS}; in Espoo also auditor1).")
        print("  The administrators' console (/admin) asks admin1 and auditor1 for a code: the")
        print(f"  demo key {DEMO_TOTP} in an authenticator app (README).")
        print("  Ctrl-C stops them all.\n", flush=True)
        while True:
            for name, process in running:
                if process.poll() is not None:
                    print(f"run_all: {name} exited with {process.returncode}; stopping the rest")
                    return process.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nrun_all: stopping", flush=True)
        return 0
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut cleanup
            signal.signal(signum, signal.SIG_IGN)
        stop(running)


if __name__ == "__main__":
    sys.exit(main())
