"""The console's statistics (/admin/statistics): consent requests and answers per day, week or
month for a city (an auditor: any or all), a school, a purpose and a service, and sign-ins per
city, directory type and service, read from the daily aggregates (consent.stats), never from
the events. Each table has a chart drawn on the server (SVG, no script) and a CSV download;
every count is shown under disclosure control (consent.stats.shown)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import Blueprint, Response, render_template, request
from flask_babel import lazy_gettext
from sqlalchemy import func, select

from consent import exports, page_data, purposes, stats
from consent.console import ROLES, Admin, current_admin, filter_choices
from consent.models import ConsentDaily
from core.db import db, utcnow
from idp.sso.models import SignInCount

bp = Blueprint("admin_stats", __name__, url_prefix="/admin/statistics")

PERIODS = {"day": lazy_gettext("Day"), "week": lazy_gettext("Week"), "month": lazy_gettext("Month")}
LABELS = {
    "requested": lazy_gettext("Asked"), "given": lazy_gettext("Given"),
    "refused": lazy_gettext("Refused"), "withdrawn": lazy_gettext("Withdrawn"),
    "expired": lazy_gettext("Expired"), "invalidated": lazy_gettext("Ended by DigiOne"),
}  # fmt: skip
BANDS = {
    "within_1h": lazy_gettext("within an hour"), "within_6h": lazy_gettext("within 6 hours"),
    "within_24h": lazy_gettext("within a day"), "within_72h": lazy_gettext("within 3 days"),
    "within_168h": lazy_gettext("within a week"), "within_720h": lazy_gettext("within 30 days"),
    "later": lazy_gettext("after 30 days"),
}  # fmt: skip
CHART = {"width": 640, "height": 220, "left": 48, "bottom": 40, "top": 12}


@dataclass
class Query:
    cities: list[str]
    school: str | None
    purpose: str | None
    service: str | None
    period: str
    since: date
    until: date


def _query(admin: Admin) -> Query:
    """The page's choices from the request, within the administrator's cities."""
    args = request.args
    city = args.get("city") or ""
    if admin.scope.every_city:
        cities = [city] if city else []  # [] is every city
    else:
        cities = [city] if city in admin.scope.cities else sorted(admin.scope.cities)
    today = utcnow().astimezone(stats.HELSINKI).date()
    try:
        until = date.fromisoformat(args.get("to", ""))
    except ValueError:
        until = today
    try:
        since = date.fromisoformat(args.get("from", ""))
    except ValueError:
        since = (today.replace(day=1) - timedelta(days=330)).replace(day=1)
    if since > until:
        since, until = until, since
    since = max(since, until - timedelta(days=3 * 366))  # three years at most
    period = args.get("period") if args.get("period") in PERIODS else "month"
    if period == "day":
        since = max(since, until - timedelta(days=92))
    return Query(cities, args.get("school") or None, args.get("purpose") or None,
                 args.get("service") or None, period, since, until)  # fmt: skip


def _start(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1) if period == "month" else day


def consent_rows(query: Query) -> list[dict]:
    """Sums per period of the daily aggregates that match ``query``, oldest first."""
    columns = (*stats.METRICS, *stats.BAND_COLUMNS)
    select_sums = select(
        ConsentDaily.day, *(func.sum(getattr(ConsentDaily, c)).label(c) for c in columns)
    ).where(ConsentDaily.day.between(query.since, query.until))
    if query.cities:
        select_sums = select_sums.where(ConsentDaily.city.in_(query.cities))
    for column, value in (
        (ConsentDaily.school_code, query.school),
        (ConsentDaily.purpose_id, query.purpose),
        (ConsentDaily.recipient_client_id, query.service),
    ):
        if value is not None:
            select_sums = select_sums.where(column == value)
    periods: dict[date, dict] = {}
    for row in db.session.execute(select_sums.group_by(ConsentDaily.day)).mappings():
        into = periods.setdefault(_start(row["day"], query.period), dict.fromkeys(columns, 0))
        for column in columns:
            into[column] += int(row[column] or 0)
    return [{"period": start, **periods[start]} for start in sorted(periods)]


def sign_in_rows(query: Query) -> list[dict]:
    """Sign-ins over the whole span per city, directory type and service."""
    counted = (
        select(SignInCount.city, SignInCount.directory, SignInCount.client_id,
               func.sum(SignInCount.count).label("count"))
        .where(SignInCount.day.between(query.since, query.until))
        .group_by(SignInCount.city, SignInCount.directory, SignInCount.client_id)
        .order_by(SignInCount.city, SignInCount.directory, SignInCount.client_id)
    )  # fmt: skip
    if query.cities:
        counted = counted.where(SignInCount.city.in_(query.cities))
    if query.service is not None:
        counted = counted.where(SignInCount.client_id == query.service)
    return [dict(row) for row in db.session.execute(counted).mappings()]


def chart(rows: list[dict], period: str) -> dict:
    """Bars of requests and consents given per period, from the shown (rounded) counts, so
    that the chart tells no more than its table."""
    width, height = CHART["width"], CHART["height"]
    inner = height - CHART["bottom"] - CHART["top"]
    values = [(row, _number(row["requested"]), _number(row["given"])) for row in rows]
    top = max([max(a, b) for _row, a, b in values] + [5])
    slot = (width - CHART["left"]) / max(len(rows), 1)
    bars = []
    for n, (_row, asked, given) in enumerate(values):
        x = CHART["left"] + n * slot
        for offset, value, kind in ((0.1, asked, "asked"), (0.5, given, "given")):
            tall = inner * value / top
            bars.append({"x": round(x + slot * offset, 1), "w": round(slot * 0.38, 1),
                         "y": round(CHART["top"] + inner - tall, 1), "h": round(tall, 1),
                         "kind": kind})  # fmt: skip
    ticks = [{"y": round(CHART["top"] + inner - inner * v / top, 1), "v": v}
             for v in (0, top // 2, top)]  # fmt: skip
    labels = [
        {"x": round(CHART["left"] + (n + 0.5) * slot, 1), "text": _label(row["period"], period)}
        for n, row in enumerate(rows)
    ][:: max(1, len(rows) // 12)]
    return {"width": width, "height": height, "bars": bars, "ticks": ticks, "labels": labels,
            "base": CHART["top"] + inner, "left": CHART["left"]}  # fmt: skip


def _number(count: int) -> int:
    """The shown count as a number for a bar: "<5" draws no bar."""
    text = stats.shown(count)
    return 0 if text == "<5" else int(text.replace("\u00a0", ""))


def _label(start: date, period: str) -> str:
    if period == "month":
        return start.strftime("%m/%Y")
    return start.strftime("%d.%m.")


def _csv(name: str, header: list[str], lines: list[list]) -> Response:
    body = "".join(exports.csv_line(line) for line in [header, *lines])
    response = Response(body, mimetype="text/csv")  # Flask adds the charset
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("")
def index():
    admin = current_admin()
    if isinstance(admin, Response):
        return admin
    query = _query(admin)
    rows = consent_rows(query)
    signins = sign_in_rows(query)
    if request.args.get("format") == "csv":
        if request.args.get("table") == "signins":
            return _csv(
                "sign-ins", ["city", "directory", "service", "sign_ins"],
                [[r["city"], r["directory"], r["client_id"], stats.shown(r["count"])]
                 for r in signins],
            )  # fmt: skip
        return _csv(
            "consents", ["period", *stats.METRICS, "median_decision"],
            [[row["period"].isoformat(), *(stats.shown(row[m]) for m in stats.METRICS),
              stats.median_band(row) or ""] for row in rows],
        )  # fmt: skip
    return render_template(
        "admin/statistics.html",
        admin=admin, roles=ROLES, query=query, rows=rows, signins=signins,
        chart=chart(rows, query.period), shown=stats.shown, median=stats.median_band,
        metrics=stats.METRICS, labels=LABELS, bands=BANDS, periods=PERIODS,
        label=_label, choices=filter_choices(admin.scope), args=request.args,
        purposes_list=purposes.all_latest(db.session), locale=page_data.locale(),
    )  # fmt: skip
