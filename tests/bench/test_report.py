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
