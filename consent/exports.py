"""A city's consent records as CSV or JSON, written row by row so that memory stays flat
however many records the city holds (`digione consent export`, the console's export). The
rows are consent.history's export rows; the console's export is stamped with the audit log's
checkpoint it was read at, so that each row can be proven against it later."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from consent.history import EXPORT_FIELDS

FORMATS = ("csv", "json")
MEDIA_TYPES = {"csv": "text/csv", "json": "application/json"}  # Flask adds text/*'s charset


def cell(value) -> str:
    """A CSV cell; one a spreadsheet would read as a formula gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_line(values: Iterable) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([cell(value) for value in values])
    return buffer.getvalue()


def lines(rows: Iterable[dict], fmt: str, stamp: dict | None = None) -> Iterator[str]:
    """The export as text chunks: CSV with a header row, or JSON: one array of rows, or with
    ``stamp`` an object ``{"checkpoint": stamp, "records": [...]}``."""
    if fmt == "csv":
        yield csv_line(EXPORT_FIELDS)
        for row in rows:
            yield csv_line(row[name] for name in EXPORT_FIELDS)
        return
    opening, closing = "[", "]"
    if stamp is not None:
        opening = '{"checkpoint": ' + json.dumps(stamp, ensure_ascii=False) + ', "records": ['
        closing = "]}"
    yield opening
    first = True
    for row in rows:
        yield ("" if first else ",") + "\n" + json.dumps(row, ensure_ascii=False)
        first = False
    yield ("\n" if not first else "") + closing + "\n"
