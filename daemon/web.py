"""The daemon's one small HTTP server: the status page (/), each account's page and plan of action, /api/status,
/healthz, /metrics, and silences added and ended from the page. Routes read through the same functions as `status`; nothing here is a second application.

Everything that arrives is hostile: a Host header naming anything but loopback, the bound address and the configured
names is refused on every route (DNS rebinding), output is escaped by jinja2, forms carry a CSRF token only this
process knows, and beyond loopback every route but /healthz asks for the configured token (bearer, or HTTP basic's
password).
"""
from __future__ import annotations

import base64
import hmac
import logging
import secrets
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import uvicorn
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from alerts.breach import chance_text
from alerts.render import METRIC_NAMES, pct
from daemon.action_commands import plan_markdown
from daemon.clock import Clock
from daemon.config import Config
from daemon.dbhealth import DatabaseOutage
from daemon.errors import ConfigError
from daemon.evaluated import EvaluatedMetrics
from daemon.exposition import StatusCollector, metrics_text, outbox_figures
from daemon.healthz import health_problems
from daemon.silences import create_silence, end_silence, silence_problem
from daemon.status import badness, chance_of_crossing, overview, status_report
from storage.repo import Store

logger = logging.getLogger(__name__)
_pages = Environment(loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
                     autoescape=select_autoescape(["html", "j2"]))
OPEN_PATHS = frozenset({"/healthz"})  # a health checker needs no token
INLINE_ACCOUNTS = 3  # more accounts than this: the page is one line each, with a page per account


def status_app(config: Config, store: Store, clock: Clock, started_at: datetime, version: str,
               outage: DatabaseOutage | None = None, evaluated: EvaluatedMetrics | None = None) -> Starlette:
    """The Starlette application over one daemon's database; `evaluated` holds what the polls' evaluations found."""
    csrf = secrets.token_urlsafe(32)
    token = config.http.token.reveal() if config.http.token else None
    evaluated = evaluated or EvaluatedMetrics()
    todos = EvaluatedMetrics()  # each account's to-do, kept until its data moves
    inline = len(config.accounts) <= INLINE_ACCOUNTS

    def report(only: str | None = None, history: bool = True) -> dict[str, Any]:
        # The to-do goes with the full report (the pages, /api/status), not with a scrape or the command line's.
        with store.sessions() as session:
            return status_report(session, config, clock.now(), evaluated, only, history, todos if history else None)

    def problems() -> list[str]:
        with store.sessions() as session:
            return health_problems(session, config, clock.now(), started_at, outage)

    def outbox() -> dict[str, Any]:
        with store.sessions() as session:
            return outbox_figures(session, clock.now())

    collector = StatusCollector(lambda: report(history=False), outbox, version)

    def page(error: str | None = None, status_code: int = 200) -> HTMLResponse:
        data = report(history=inline)
        if inline:
            decorate_all(data, clock.now())
        rows = sorted((overview(account) for account in data["accounts"]), key=_worst_first)
        for row in rows:
            row["chance"] = _chance(row["worst"])
        # "Every feed is current" only once every account has data: before, failures are not yet stale, just all there is.
        waiting = [a["name"] for a in data["accounts"] if not any(f["last_success_at"] for f in a["feeds"])]
        html = _pages.get_template("status.html.j2").render(
            report=data, overview=rows if len(rows) > 1 else [], inline=inline, problems=problems(), csrf=csrf,
            error=error, waiting=waiting)
        return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)

    async def index(request: Request) -> Response:
        return page()

    async def account_page(request: Request) -> Response:
        data = report(only=request.path_params["name"])
        if not data["accounts"]:
            return PlainTextResponse("no such account\n", status_code=404)
        decorate_all(data, clock.now())
        html = _pages.get_template("account.html.j2").render(report=data)
        return HTMLResponse(html, headers=SECURITY_HEADERS)

    async def plan(request: Request) -> Response:
        account = next((a for a in config.accounts if a.name == request.path_params["name"]), None)
        if account is None:
            return PlainTextResponse("no such account\n", status_code=404)
        q = request.query_params
        try:
            with store.sessions() as session:
                text = plan_markdown(session, account, q.get("marketplace", ""), q.get("metric", "odr"),
                                     q.get("fulfillment", "MFN"))
        except ConfigError as exc:
            return PlainTextResponse(f"{exc}\n", status_code=404, headers=SECURITY_HEADERS)
        return PlainTextResponse(text, media_type="text/markdown; charset=utf-8", headers=SECURITY_HEADERS)

    async def api_status(request: Request) -> Response:
        history = request.query_params.get("history") != "0"  # `status` on the command line shows no history
        return JSONResponse(report(history=history) | {"problems": problems(), "database": config.daemon.database_place})

    async def healthz(request: Request) -> Response:
        found = problems()
        if found:
            return PlainTextResponse("unhealthy\n" + "\n".join(found) + "\n", status_code=503)
        return PlainTextResponse("ok\n")

    async def metrics(request: Request) -> Response:
        return Response(metrics_text(collector), media_type="text/plain; version=0.0.4; charset=utf-8")

    async def add_silence(request: Request) -> Response:
        form = await request.form()
        refused = _refuse_forgery(request, form, csrf)
        if refused:
            return refused
        until = _form_instant(str(form.get("until", "")))
        fields = {k: str(form.get(k, "")).strip() for k in ("account", "marketplace", "metric", "reason")}
        now = clock.now()
        problem = "until is not a date and time" if until is None else silence_problem(
            config, fields["account"], fields["marketplace"] or None, fields["metric"] or None, until, fields["reason"], now)
        if problem:
            return page(error=problem, status_code=400)
        create_silence(store, fields["account"], fields["marketplace"], fields["metric"], until, fields["reason"], now)
        return RedirectResponse("./#silences", status_code=303)

    async def end(request: Request) -> Response:
        form = await request.form()
        refused = _refuse_forgery(request, form, csrf)
        if refused:
            return refused
        try:
            silence_id = int(request.path_params["silence_id"])
        except ValueError:
            return page(error="no such silence", status_code=404)
        if not end_silence(store, silence_id, clock.now()):
            return page(error="no such active silence", status_code=404)
        return RedirectResponse("../../#silences", status_code=303)

    def warm() -> None:
        try:
            report(history=False)
        except Exception:  # a database outage: the page says so when asked
            logger.warning("status: evaluations not made ahead at start", exc_info=True)

    app = Starlette(routes=[
        Route("/", index), Route("/accounts/{name}", account_page),
        Route("/accounts/{name}/plan", plan), Route("/api/status", api_status),
        Route("/healthz", healthz), Route("/metrics", metrics),
        Route("/silences", add_silence, methods=["POST"]), Route("/silences/{silence_id}/end", end, methods=["POST"]),
    ])
    if token is not None:
        app.add_middleware(TokenMiddleware, token=token)
    # Added last, so it runs first: a request naming another host is refused before any route or token check.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(config.http.trusted_hosts), www_redirect=False)
    # Right after a start nothing is evaluated yet: with hundreds of accounts the first page load or scrape would
    # run every account's breach model before answering; the daemon runs this once, beside its first polls.
    app.state.warm = warm
    return app


SECURITY_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                    "frame-ancestors 'none'", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


class TokenMiddleware:
    """Every route but /healthz wants `Authorization: Bearer <token>`, or HTTP basic with the token as password."""

    def __init__(self, app: Callable, token: str) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http" and scope["path"] not in OPEN_PATHS and not self._allowed(scope):
            response = PlainTextResponse("the token is required\n", status_code=401,
                                         headers={"WWW-Authenticate": 'Basic realm="seller-sentinel"'})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _allowed(self, scope: dict) -> bool:
        header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            given = value.strip()
        elif scheme.lower() == "basic":
            try:
                given = base64.b64decode(value.strip()).decode("utf-8").partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                return False
        else:
            return False
        return hmac.compare_digest(given.encode(), self.token.encode())


def _refuse_forgery(request: Request, form: Any, csrf: str) -> Response | None:
    """403 unless the form carries this process's token and, when the browser says, comes from this very page."""
    origin = request.headers.get("origin")
    if origin and origin.split("://", 1)[-1] != request.headers.get("host", ""):
        return PlainTextResponse("cross-site form refused\n", status_code=403)
    if not hmac.compare_digest(str(form.get("csrf", "")).encode(), csrf.encode()):
        return PlainTextResponse("missing or wrong form token; reload the page\n", status_code=403)
    return None


def _form_instant(text: str) -> datetime | None:
    """A datetime-local field (taken as UTC) or an ISO 8601 instant."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _worst_first(row: dict[str, Any]) -> tuple:
    level, chance, spent = badness(row["worst"]) if row["worst"] else (0, 0.0, 0.0)
    return -level, -chance, -spent, row["name"]


def _chance(worst: dict[str, Any] | None) -> str:
    if worst is not None and worst["level"] == "breach":
        return "over the limit now"
    chance = chance_of_crossing(worst)
    return f"{chance_text(chance[0])} in {chance[1]} days" if chance else ""


def decorate_all(report: dict[str, Any], now: datetime) -> None:
    for account in report["accounts"]:
        for row in account["metrics"]:
            decorate(row, now)


def decorate(row: dict[str, Any], now: datetime) -> None:
    """What the page shows of one metric beyond the report: names, percentages and the chart."""
    row["name"] = METRIC_NAMES.get(row["metric"], row["metric"])
    row["value_text"], row["limit_text"] = pct(row["value"]), pct(row["limit"])
    row["amazon_text"] = pct(row["amazon_value"]) if row["amazon_value"] is not None else "n/a"
    row["chart"] = chart_svg(row, now)


def chart_svg(row: dict[str, Any], now: datetime, width: int = 300, height: int = 90) -> Markup:
    """The last 90 days and the next 30 as inline SVG: the value, the limit line, the warning band, the forecast."""
    first, last = now - timedelta(days=90), now + timedelta(days=30)
    span = (last - first).total_seconds()
    values = [v for _, v in row["history"] if v is not None]
    limit, warning, upper = row["limit"], row["warning"], row["direction"] == "upper"
    if upper:
        low, high = 0.0, max([limit * 1.5] + [v * 1.1 for v in values])
    else:
        low, high = min([limit - (1 - limit)] + [v - 0.01 for v in values]), 1.0
    high = high if high > low else low + 1

    def x(day: datetime) -> float:
        return round((day - first).total_seconds() / span * width, 1)

    def y(value: float) -> float:
        return round(height - (value - low) / (high - low) * height, 1)

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="90 days of {row["metric"]}">']
    if warning is not None:
        top, bottom = sorted((y(warning), y(limit)))
        parts.append(f'<rect class="warning-band" x="0" y="{top}" width="{width}" height="{round(bottom - top, 1)}"/>')
    parts.append(f'<line class="limit-line" x1="0" x2="{width}" y1="{y(limit)}" y2="{y(limit)}"/>')
    points = " ".join(f"{x(datetime.fromisoformat(day).replace(tzinfo=timezone.utc))},{y(v)}"
                      for day, v in row["history"] if v is not None)
    if points:
        parts.append(f'<polyline class="series" points="{points}"/>')
    parts.append(f'<line class="today" x1="{x(now)}" x2="{x(now)}" y1="0" y2="{height}"/>')
    if row["forecast_breach_at"]:
        at = x(datetime.fromisoformat(row["forecast_breach_at"].replace("Z", "+00:00")))
        parts.append(f'<line class="forecast" x1="{at}" x2="{at}" y1="0" y2="{height}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # numbers and fixed words only: nothing from outside is in it


class WebServer:
    """Uvicorn in a thread of the daemon's process; a port in use is said and the daemon goes on without it."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off",
                                                    access_log=False))
        self.thread = threading.Thread(target=self._serve, name="status-page", daemon=True)

    def _serve(self) -> None:
        try:
            self.server.run()
        except SystemExit:  # uvicorn exits when it cannot bind
            logger.error("status page not served: could not listen on %s:%s", self.server.config.host,
                         self.server.config.port)

    def start(self, timeout: float = 10) -> str | None:
        """Serve; returns the URL once listening, or None when it could not start."""
        self.thread.start()
        started = threading.Event()
        for _ in range(int(timeout * 20)):
            if self.server.started or not self.thread.is_alive():
                break
            started.wait(0.05)
        if not self.server.started:
            return None
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        url = f"http://{host}:{port}/"
        logger.info("status page at %s", url)
        return url

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
