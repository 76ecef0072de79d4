"""``[directory]`` of a city whose accounts are kept in DigiOne's own database."""

from __future__ import annotations

from typing import Literal

from core.settings.schema import DirectorySettings


class EmbeddedDirectorySettings(DirectorySettings):
    type: Literal["embedded"]
