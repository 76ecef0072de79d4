"""Imports every package's models so that Base.metadata is complete (Alembic, tests)."""

import keys.models  # noqa: F401
from idp.db import Base

metadata = Base.metadata
