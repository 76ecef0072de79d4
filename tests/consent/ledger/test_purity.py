"""consent.ledger is the pure core: importing it loads neither Flask nor a database layer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_ledger_imports_no_web_or_database_framework() -> None:
    code = (
        "import sys\n"
        "import consent.ledger.checkpoint, consent.ledger.merkle, consent.ledger.note\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(loaded & {'flask', 'sqlalchemy', 'core', 'idp', 'keys', 'federation'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
