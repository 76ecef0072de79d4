"""Every page text exists in Finnish and Swedish; the compiled catalogues match the sources."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "idp" / "translations"


def _methods() -> list[tuple[str, str]]:
    """The sources `make translations` extracts from, as babel.cfg names them."""
    from configparser import ConfigParser

    parser = ConfigParser()
    parser.read(ROOT / "babel.cfg")
    return [tuple(reversed(section.split(": ", 1))) for section in parser.sections()]


def _key(message_id) -> str:
    """A plural entry is keyed by its singular."""
    return message_id if isinstance(message_id, str) else message_id[0]


def _source_messages() -> set[str]:
    keywords = {"_": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), _methods(), keywords=keywords
    ):
        found.add(_key(message))
    return found


def _text(string):
    """A plural's forms as a tuple, however the catalogue was read (read_mo gives a list)."""
    return tuple(string) if isinstance(string, list | tuple) else string


def _done(string) -> bool:
    return all(string) if isinstance(string, tuple) else bool(string)


@pytest.mark.parametrize("locale", ["fi", "sv"])
def test_every_text_is_translated_and_compiled(locale):
    folder = TRANSLATIONS / locale / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as handle:
        po = read_po(handle)
    with (folder / "messages.mo").open("rb") as handle:
        mo = read_mo(handle)
    translated = {
        _key(m.id): _text(m.string) for m in po if m.id and _done(m.string) and not m.fuzzy
    }
    missing = sorted(_source_messages() - translated.keys())
    assert not missing, f"untranslated in {locale}: {missing} (run `make translations`)"
    compiled = {_key(m.id): _text(m.string) for m in mo if m.id}
    assert compiled == translated, "messages.mo is stale: run `make translations`"
