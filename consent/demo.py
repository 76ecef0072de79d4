"""The demo purposes: `digione demo seed` registers config/demo/purposes/*.toml (development
only), each as version 1 if it is not there yet, so that seeding twice changes nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from consent import purposes


def seed_demo_purposes(session: Session, folder: Path) -> int:
    """Register the purposes in ``folder`` that do not exist yet; return how many there are.
    Raises purposes.PurposeError naming the file. Flushes; the caller commits."""
    count = 0
    for path in sorted(Path(folder).glob("*.toml")):
        spec = purposes.read_file(path)
        if purposes.latest(session, spec.id) is None:
            purposes.add(session, spec, created_by="demo")
        count += 1
    return count
