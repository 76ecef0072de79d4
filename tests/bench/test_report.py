"""bench.report: the table, the DigiOne / peer ratios of one run and the plot."""

from __future__ import annotations

from bench import report


def run(system: str, scenario: str, backend: str, rates: list[float]) -> dict:
    return {
        "system": system,
        "scenario": scenario,
        "title": scenario,
        "backend": backend,
        "server": "granian",
        "memory_kib": {"101": {"first": 50_000, "peak": 61_440, "last": 60_000}},
        "results": [
            {"concurrency": c, "rps": rps, "p50_ms": 1.0, "p90_ms": 2.0, "p99_ms": 3.5,
             "max_ms": 9.0, "errors": 0, "load_cpu": 0.2, "requests": 10, "seconds": 1.0}
            for c, rps in zip((1, 32), rates, strict=True)
        ],
    }  # fmt: skip


DOCUMENT = {
    "date": "2026-11-27T00:00:00+00:00",
    "minutes": 1.5,
    "machine": {"cpu": "Test CPU", "platform": "Linux", "python": "3.11", "host": "h"},
    "plan": {"quick": True, "server": "granian", "seconds": 2, "warmup": 1},
    "runs": [
        run("digione", "cc_rs256", "sqlite", [500, 2000]),
        run("digione", "cc_rs256", "postgresql", [400, 1500]),
        run("oidc-provider", "peer_cc_rs256", "memory", [700, 1000]),
    ],
}


def test_ratios_pair_each_backend_with_the_peer_of_the_same_run():
    lines = report.ratios(DOCUMENT)
    assert "| cc_rs256 | sqlite | 2,000 | 1,000 | 2.00 |" in lines
    assert "| cc_rs256 | postgresql | 1,500 | 1,000 | 1.50 |" in lines


def test_the_table_has_a_row_per_point_with_memory(tmp_path):
    text = report.markdown(DOCUMENT)
    assert (
        "| DigiOne: cc_rs256, sqlite | sqlite | 32 | 2,000 | 1.00 | 3.50 | 0 | 60.0 | 0.20 |"
        in (text)
    )
    assert "(quick mode)" in text and "Test CPU" in text
    png = report.plot(DOCUMENT, tmp_path / "plot.png")
    assert png.read_bytes().startswith(b"\x89PNG")


def test_targets_say_met_or_by_how_much_missed():
    lines = report.targets(DOCUMENT)
    assert "| client_credentials RS256, sqlite: at least the peer's 1,000/s | 2,000/s | yes |" in (
        lines
    )
    slow = {
        **DOCUMENT,
        "runs": [*DOCUMENT["runs"], run("digione", "refresh", "postgresql", [100, 250])],
    }
    assert "| refresh with rotation on PostgreSQL: at least 500/s | 250/s | no: 50% of it |" in (
        report.targets(slow)
    )


def test_the_soak_says_whether_memory_stayed_flat():
    soak = run("digione", "soak", "postgresql", [50, 60])
    soak["results"] = [{**soak["results"][0], "seconds": 300.0}]
    flat = {**soak, "memory_series": [(0, 100_000), (60, 120_000), (300, 122_000)]}
    leaking = {**soak, "memory_series": [(0, 100_000), (60, 120_000), (300, 160_000)]}
    assert report.soak_row(flat).endswith("| 117.2 -> 119.1 MiB | yes |")
    assert report.soak_row(leaking).endswith("| 117.2 -> 156.2 MiB | no |")
    assert "5-minute" in report.soak_row(flat)


def test_profiles_and_errors_are_reported():
    profiled = run("digione", "refresh", "postgresql", [100, 250])
    profiled["profile"] = {
        "samples": 500,
        "inclusive": [("token (idp/oidc/endpoints.py)", 70.0)],
        "exclusive": [("RSAAlgorithm.sign (jwt/algorithms.py)", 40.0)],
    }
    broken = run("digione", "sso", "sqlite", [10, 20])
    broken["results"][1]["errors"] = 3
    document = {**DOCUMENT, "runs": [*DOCUMENT["runs"], profiled, broken]}
    text = report.markdown(document)
    assert "| `token (idp/oidc/endpoints.py)` | 70.0 % |" in text
    assert "| `RSAAlgorithm.sign (jwt/algorithms.py)` | 40.0 % |" in text
    assert "| every scenario: 0 errors (warm-ups included) | 3 | no |" in report.targets(document)
    broken["warmup_errors"] = 2  # a warm-up's errors count too
    assert "| every scenario: 0 errors (warm-ups included) | 5 | no |" in report.targets(document)


def test_py_spy_stacks_are_summarised_by_share(tmp_path):
    from bench import profile

    stacks = tmp_path / "refresh.stacks"
    stacks.write_text(
        "run (granian/wsgi.py:10);token (/srv/digione/idp/oidc/endpoints.py:24);"
        "sign (jwt/algorithms.py:682) 30\n"
        "run (granian/wsgi.py:10);token (/srv/digione/idp/oidc/endpoints.py:24) 10\n"
        "run (granian/wsgi.py:10) 10\n"
    )
    found = profile.summary(stacks)
    assert found["samples"] == 50
    assert found["inclusive"] == [("token (idp/oidc/endpoints.py)", 80.0)]  # the project's only
    assert found["exclusive"][0] == ("sign (jwt/algorithms.py)", 60.0)


def test_the_administrators_list_is_held_to_200_ms_at_one_connection():
    listed = run("digione", "admin_list", "postgresql", [50, 60])
    listed["results"][0]["p99_ms"] = 120.0
    listed["results"][1]["p99_ms"] = 900.0  # at 32 connections: queued, not the target's
    lines = report.targets({**DOCUMENT, "runs": [listed]})
    assert "| admin_list: p95 under 200 ms (p99, one connection) | 120.0 ms | yes |" in lines
    listed["results"][0]["p99_ms"] = 250.0
    lines = report.targets({**DOCUMENT, "runs": [listed]})
    assert (
        "| admin_list: p95 under 200 ms (p99, one connection) | 250.0 ms | no: 1.2 times it |"
        in lines
    )
