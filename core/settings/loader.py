"""Read and check DigiOne's configuration folder.

Layout of a configuration folder (the repository's ``config/`` is the default)::

    defaults.toml           broker settings (core.settings.schema.Settings)
    cities/<slug>.toml      one file per city (CitySettings; its ``[directory]`` is one of
                            the connectors' settings types the composition root hands in)
    demo/<slug>.toml        demo people per city (DemoDirectory), used only when demo.enabled

Environment variables ``DIGIONE_<SECTION>_<KEY>`` override defaults.toml. Every problem found is
reported as one line ``<file>: <key>: <what is wrong>``, all of them at once.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, create_model

from core.settings.schema import CitySettings, DemoDirectory, DirectorySettings, Settings

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "config"
ENV_PREFIX = "DIGIONE_"
# Variables under the prefix that are not settings.
ENV_NOT_SETTINGS = ("DIGIONE_CONFIG", "DIGIONE_TEST_")
# A check of the loaded settings that a package contributes (keys: the master key's form); it
# returns one line per problem, each starting with the source it is given.
Check = Callable[[Settings, str], list[str]]


class ConfigError(Exception):
    """The configuration is unusable; ``lines`` holds one line per problem."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass(frozen=True)
class Config:
    """Everything read from a configuration folder, checked."""

    folder: Path
    settings: Settings
    cities: dict[str, CitySettings]
    demo: dict[str, DemoDirectory] = field(default_factory=dict)

    @property
    def production(self) -> bool:
        return self.settings.server.mode == "production"


@cache
def city_model(directories: tuple[type[DirectorySettings], ...]) -> type[CitySettings]:
    """CitySettings whose ``directory`` is one of ``directories``, told apart by ``type``
    (a pydantic discriminated union: an unknown type is reported with the known ones)."""
    if not directories:
        return CitySettings
    union = Union[directories]  # noqa: UP007 (a runtime tuple of types)
    return create_model(
        "CitySettings",
        __base__=CitySettings,
        __module__=CitySettings.__module__,
        directory=(Annotated[union, Field(discriminator="type")], ...),
    )


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _friendly(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "union_tag_invalid":
        ctx = error["ctx"]
        return f"unknown type {ctx['tag']!r} (expected one of {ctx['expected_tags']})"
    if kind == "literal_error":
        return f"{error['input']!r} is not allowed, expected {error['ctx']['expected']}"
    if kind == "string_pattern_mismatch":
        return f"{error['input']!r} does not match the pattern {error['ctx']['pattern']}"
    if kind.endswith("_type") and not isinstance(error.get("input"), dict):
        return f"wrong type: {error['msg'].lower()}, got {type(error['input']).__name__}"
    return error["msg"]


def _validate(model: type[BaseModel], data: Any, source: str, errors: list[str]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = [str(part) for part in error["loc"] if part != "embedded"]
            if error["type"] == "union_tag_invalid":
                loc.append(error["ctx"]["discriminator"].strip("'"))
            key = ".".join(loc) or "(file)"
            errors.append(f"{source}: {key}: {_friendly(error)}")
        return None


def _read_toml(path: Path, errors: list[str]) -> dict[str, Any] | None:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        errors.append(f"{_display(path)}: (file): not found")
    except tomllib.TOMLDecodeError as exc:
        errors.append(f"{_display(path)}: (file): not valid TOML: {exc}")
    return None


def _env_overrides(environ: Mapping[str, str], errors: list[str]) -> dict[str, dict[str, Any]]:
    """Map DIGIONE_<SECTION>_<KEY> variables onto settings, typed as the schema says."""
    overrides: dict[str, dict[str, Any]] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name.startswith(ENV_NOT_SETTINGS):
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("_")
        section_field = Settings.model_fields.get(section)
        section_model = section_field.annotation if section_field else None
        key_field = section_model.model_fields.get(key) if section_model else None
        if key_field is None:
            errors.append(f"{name}: {section}.{key}: unknown setting")
            continue
        try:
            value = TypeAdapter(key_field.annotation).validate_python(raw, strict=False)
        except ValidationError as exc:
            errors.append(f"{name}: {section}.{key}: {_friendly(exc.errors()[0])}")
            continue
        overrides.setdefault(section, {})[key] = value
    return overrides


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _production_problems(settings: Settings, source: str) -> list[str]:
    problems = []
    if settings.demo.enabled:
        problems.append(f"{source}: demo.enabled: demo data is refused in production")
    if not settings.server.issuer.startswith("https://"):
        problems.append(f"{source}: server.issuer: production needs an https:// issuer")
    if not (settings.master.key or settings.master.key_file):
        problems.append(
            f"{source}: master.key: production needs a master key (DIGIONE_MASTER_KEY or "
            "master.key_file); it is never generated"
        )
    if len(settings.server.secret_key) < 32:
        problems.append(
            f"{source}: server.secret_key: production needs a secret of at least 32 characters"
        )
    if len(settings.oidc.pairwise_secret) < 32:
        problems.append(
            f"{source}: oidc.pairwise_secret: production needs a secret of at least 32 characters"
        )
    if settings.admin.second_factor != "required":
        problems.append(
            f"{source}: admin.second_factor: production needs the administrators' second factor"
        )
    url = settings.database.url
    if not url or url.startswith("sqlite"):
        problems.append(f"{source}: database.url: production needs PostgreSQL, not SQLite")
    return problems


def load_config(
    folder: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    directories: Sequence[type[DirectorySettings]] = (),
    checks: Sequence[Check] = (),
) -> Config:
    """Read, merge and check a configuration folder; raise ConfigError listing every problem.

    ``directories`` are the connectors' settings types a city's ``[directory]`` may be, and
    ``checks`` further checks of the settings; the composition root (idp.config) hands both."""
    city_settings = city_model(tuple(directories))
    environ = os.environ if environ is None else environ
    folder = Path(folder or environ.get("DIGIONE_CONFIG") or DEFAULT_FOLDER)
    errors: list[str] = []
    defaults_path = folder / "defaults.toml"
    raw = _read_toml(defaults_path, errors) or {}
    source = _display(defaults_path)
    settings = _validate(Settings, raw, source, errors)
    env = _env_overrides(environ, errors)
    if settings is not None and (env or overrides):
        merged = _merge(_merge(settings.model_dump(), env), overrides or {})
        settings = _validate(Settings, merged, "environment", errors)

    cities: dict[str, CitySettings] = {}
    city_files = sorted((folder / "cities").glob("*.toml"))
    if not city_files:
        errors.append(f"{_display(folder / 'cities')}: (folder): no city is configured")
    codes: dict[str, str] = {}
    named = {path.stem for path in city_files}  # reported once, in the city's own file
    for path in city_files:
        data = _read_toml(path, errors)
        city = _validate(city_settings, data, _display(path), errors) if data is not None else None
        if city is None:
            continue
        if city.slug != path.stem:
            errors.append(f"{_display(path)}: slug: {city.slug!r} differs from the file name")
        if city.municipality_code in codes:
            errors.append(
                f"{_display(path)}: municipality_code: {city.municipality_code} is already "
                f"{codes[city.municipality_code]}'s"
            )
        codes[city.municipality_code] = city.slug
        cities[city.slug] = city

    demo: dict[str, DemoDirectory] = {}
    if settings is not None and settings.demo.enabled:
        for path in sorted((folder / "demo").glob("*.toml")):
            data = _read_toml(path, errors)
            directory = _validate(DemoDirectory, data, _display(path), errors) if data else None
            if directory is None:
                continue
            if path.stem not in named:
                errors.append(f"{_display(path)}: (file): no city {path.stem!r} is configured")
            usernames = {person.username for person in directory.people}
            for index, person in enumerate(directory.people):
                for child in person.children:
                    if child not in usernames:
                        errors.append(
                            f"{_display(path)}: people.{index}.children: no person {child!r}"
                        )
            demo[path.stem] = directory

    if settings is not None:
        for check in checks:
            errors.extend(check(settings, source))
        if settings.server.mode == "production":
            errors.extend(_production_problems(settings, source))
    if errors:
        raise ConfigError(errors)
    return Config(folder=folder, settings=settings, cities=cities, demo=demo)
