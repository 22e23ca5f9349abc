"""TOML config -> frozen dataclasses, and every config error message. No network, no database.

An error is one sentence naming the file, the key and the fix. Secrets come from environment
variables (`<key>_env`) or files (`<key>_file`, e.g. systemd credentials) and stay masked.
"""
from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from alerts.channels.trackers.jira import EDITIONS
from alerts.channels.trackers.freshdesk import PRIORITIES as FRESHDESK_PRIORITIES
from alerts.channels.trackers.zendesk import PRIORITIES as ZENDESK_PRIORITIES
from alerts.evaluate import Chances
from alerts.hysteresis import Hysteresis
from daemon.errors import ConfigError

MARKETPLACES = {
    "ATVPDKIKX0DER": "US", "A2EUQ1WTGCTBG2": "CA", "A1AM78C64UM0Y8": "MX", "A2Q3Y263D00KWC": "BR",
    "A1F83G8C2ARO7P": "UK", "A1PA6795UKMFR9": "DE", "A13V1IB3VIYZZH": "FR", "APJ6JRA9NG5V4": "IT",
    "A1RKKUPIHCS9HS": "ES", "A1805IZSGTT6HS": "NL", "A2NODRKZP88ZB9": "SE", "A1C3SOZRARQ6R3": "PL",
    "AMEN7PMS3EDWL": "BE", "A33AVAJ2PDY3EV": "TR", "A2VIGQ35RCS4UG": "AE", "A17E79C6D8DWNP": "SA",
    "ARBP9OOSHTCHU": "EG", "A21TJRUUN4KGV": "IN", "A1VC38T7YXB528": "JP", "A39IBJ37TRP1C6": "AU",
    "A19VAU5U5O7RUS": "SG",
}
REGIONS = ("na", "eu", "fe")
METRIC_LIMITS = {"odr": (0.01, "upper"), "lsr_10d": (0.04, "upper"), "lsr_30d": (0.04, "upper"),
                 "cr_7d": (0.025, "upper"), "vtr_30d": (0.95, "lower"), "otdr_14d": (0.90, "lower")}
# Warning margins only: critical comes from the chance of a breach within days, since a rate sitting just under the
# limit for months (near-limit sellers) is not an emergency (measured in bench/calibration.py).
DEFAULT_MARGINS = {"odr": (0.0075, None), "lsr_10d": (0.03, None), "lsr_30d": (0.03, None),
                   "cr_7d": (0.018, None), "vtr_30d": (0.965, None), "otdr_14d": (0.92, None)}
FEEDS = ("orders", "deliveries", "feedback", "finances", "performance")
DATABASE_FILE = "seller-sentinel.db"  # under the state directory, unless database_url says otherwise
RUN_STATE_DIR = Path("seller-sentinel-state")  # `run` without a config keeps its state here
DEFAULT_STALE_HOURS = {"orders": 2, "deliveries": 6, "feedback": 36, "finances": 36, "performance": 36}
CHANNEL_KINDS = ("console", "file", "email", "slack", "webhook", "ticket")
TRACKERS = ("github", "jira", "zendesk", "freshdesk")
LEVELS = ("warning", "critical", "breach")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SIMULATOR_CREDENTIALS = ("amzn1.application-oa2-client.simulator", "simulator-client-secret", "Atzr|simulator-refresh-token")


class Secret:
    """A credential: masked when printed, revealed only where it is used."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class DaemonConfig:
    state_dir: Path
    database_url: str
    poll_interval_minutes: float = 15
    performance_poll_hours: float = 6
    feedback_poll_hours: float = 6
    deliver_interval_seconds: float = 30
    http_timeout_seconds: float = 30
    backfill_days: int = 90
    log_level: str = "INFO"
    orders_v0: bool = False  # also read Orders v0, which Amazon removes in March 2027
    delivery_lookup_hours: float = 6  # how often an order in transit is looked up with getOrder
    busy_timeout_seconds: float = 30  # how long a write waits for a SQLite file another process holds
    poll_workers: int = 4  # accounts polled at once; one slow account holds one worker, never the others
    lease_seconds: float = 60  # PostgreSQL with several daemons: a dead daemon's accounts move after this long
    history_from_reports: bool = True  # a first start reads the order history from order reports (ODR exact early)
    api_history_days: int = 45  # ...and only these recent days through searchOrders (ship, tracking, delivery)

    @property
    def reads_order_reports(self) -> bool:
        """Whether a first start takes the history from order reports (only worth it beyond searchOrders' days)."""
        return self.history_from_reports and self.backfill_days > self.api_history_days

    @property
    def database_place(self) -> str:
        """The database for a person: the SQLite file, or the PostgreSQL host and database without credentials."""
        url = self.database_url
        return url[len("sqlite:///"):] if url.startswith("sqlite:///") else url.split("@")[-1]


@dataclass(frozen=True)
class SimulatorConfig:
    enabled: bool = False
    scenario: str = "builtin:demo"
    speed: float = 1.0
    seed: int = 1


@dataclass(frozen=True)
class AccountConfig:
    name: str
    seller_id: str
    marketplaces: tuple[str, ...]
    lwa_client_id: Secret
    lwa_client_secret: Secret
    refresh_token: Secret
    region: str = "na"
    api_url: str = ""
    token_url: str = "https://api.amazon.com/auth/o2/token"
    lwa_client_secret_rotated_on: date | None = None
    otdr_enforced: tuple[str, ...] = ("ATVPDKIKX0DER",)
    # One place ships every marketplace's orders: the late-shipment rate is read from all of them (alerts/evaluate.py).
    marketplaces_ship_together: bool = True


@dataclass(frozen=True)
class Margins:
    """Where warning and critical start: rates (fractions) and/or defects left before the limit."""

    warning: float | None = None
    critical: float | None = None
    warning_defects_left: int | None = None
    critical_defects_left: int | None = None


@dataclass(frozen=True)
class MarginOverride:
    account: str
    marketplace: str | None
    metric: str | None
    margins: Margins


@dataclass(frozen=True)
class AlertsConfig:
    repeat_interval_hours: float = 168
    forecast_horizon_days: int = 30
    pending_evaluations: int = 1
    settle_hours: float = 24
    worse_hold_hours: float = 24  # how long figures worse than the last notice must last before they are said again
    margin_clear_band: float = Hysteresis.band
    margin_clear_days: int = Hysteresis.days
    margin_clear_chance: float = Hysteresis.negligible
    poll_failure_minutes: float = 60
    secret_expiry_warning_days: int = 30
    ahr_floor: int = 200  # Account Health Rating under this: critical
    ahr_drop_step: int = 50  # a fall of this many points within a week: warning
    critical_probability: float = Chances.critical_probability  # critical when a breach is this likely...
    critical_within_days: int = Chances.critical_days  # ...within this many days
    warning_probability: float = Chances.warning_probability
    warning_within_days: int = Chances.warning_days
    feed_stale_hours: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_STALE_HOURS))
    margins: Mapping[str, Margins] = field(default_factory=dict)
    overrides: tuple[MarginOverride, ...] = ()

    @property
    def hysteresis(self) -> Hysteresis:
        return Hysteresis(self.margin_clear_band, self.margin_clear_days, self.margin_clear_chance)

    @property
    def chances(self) -> Chances:
        return Chances(self.critical_probability, self.critical_within_days, self.warning_probability,
                       self.warning_within_days)

    def margins_for(self, account: str, marketplace: str, metric: str) -> Margins:
        """The most specific margins: an override naming account, marketplace and metric beats a broader one."""
        best, best_score = self.margins.get(metric, Margins()), -1
        for o in self.overrides:
            if o.account != account or (o.marketplace not in (None, marketplace)) or (o.metric not in (None, metric)):
                continue
            score = (o.marketplace is not None) + 2 * (o.metric is not None)
            if score > best_score:
                best, best_score = o.margins, score
        return best


@dataclass(frozen=True)
class ChannelConfig:
    name: str
    kind: str
    min_level: str = "warning"
    accounts: tuple[str, ...] = ()
    enabled: bool = True
    digests: bool = False
    stream: str = "stderr"
    directory: Path | None = None
    host: str = ""
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password: Secret | None = None
    sender: str = ""
    recipients: tuple[str, ...] = ()
    ca_file: Path | None = None
    webhook_url: Secret | None = None
    url: str = ""
    signing_secret: Secret | None = None
    mode: str = "standard"
    routing_key: Secret | None = None
    timeout_seconds: float = 15
    tracker: str = ""
    repository: str = ""
    token: Secret | None = None
    labels: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    project: str = ""  # Jira: the project's key
    edition: str = "cloud"  # Jira: cloud or data_center
    email: str = ""  # Jira Cloud, Zendesk: the account the API token belongs to; Freshdesk: the tickets' requester
    issue_type: str = "Task"
    priorities: tuple[tuple[str, str], ...] = ()  # Jira, Zendesk, Freshdesk: (level, priority name)
    group_id: int | None = None  # Zendesk, Freshdesk: the group a ticket goes to
    close_transition: str = "Done"
    reopen_transition: str = "To Do"
    reopen_days: int = 7
    close_on_resolve: bool = True


@dataclass(frozen=True)
class DigestsConfig:
    daily: bool = True
    daily_at: str = "07:00"
    weekly: bool = True
    weekly_day: str = "monday"
    weekly_at: str = "07:00"


@dataclass(frozen=True)
class SilenceConfig:
    account: str
    until: datetime
    reason: str
    marketplace: str | None = None
    metric: str | None = None


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")  # every address: the names browsers use must be listed in allowed_hosts


@dataclass(frozen=True)
class HttpConfig:
    """The status page, /api/status, /healthz and /metrics, served by the daemon itself."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 8787
    token: Secret | None = None  # required beyond loopback: bearer token, or the password of HTTP basic auth
    public_url: str = ""  # where the seller opens the page (behind a proxy); links in alerts and digests point there
    allowed_hosts: tuple[str, ...] = ()  # Host names the page answers besides loopback and its own address

    @property
    def trusted_hosts(self) -> tuple[str, ...]:
        """Every Host header the server answers: anything else is a forged name (DNS rebinding) and is refused."""
        own = () if self.host in WILDCARD_HOSTS else (self.host,)
        public = (urlsplit(self.public_url).hostname or "",) if self.public_url else ()
        names = (*LOOPBACK_HOSTS, *own, *public, *self.allowed_hosts)
        # An IPv6 literal arrives in brackets ("[::1]:8787").
        return tuple(dict.fromkeys(f"[{h.strip('[]')}]" if ":" in h else h for h in names if h))

    @property
    def page_url(self) -> str:
        """The page's address as alerts link to it."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


@dataclass(frozen=True)
class Config:
    path: Path | None
    daemon: DaemonConfig
    simulator: SimulatorConfig
    accounts: tuple[AccountConfig, ...]
    alerts: AlertsConfig
    channels: tuple[ChannelConfig, ...]
    digests: DigestsConfig
    silences: tuple[SilenceConfig, ...]
    http: HttpConfig = HttpConfig()


_MISSING = object()


class _Table:
    """One TOML table being read: typed gets with defaults, secrets, and an error for every key left unread."""

    def __init__(self, data: Mapping[str, Any], where: str, ctx: "_Context") -> None:
        self.data, self.where, self.ctx = dict(data), where, ctx
        self.read: set[str] = set()

    def fail(self, key: str, problem: str, fix: str) -> ConfigError:
        return ConfigError(f"{self.ctx.file}: {self.where}{key} {problem}; {fix}.")

    def get(self, key: str, kind: type | str, default: Any = _MISSING, fix: str = "") -> Any:
        self.read.add(key)
        if key not in self.data:
            if default is _MISSING:
                raise self.fail(key, "is missing", fix or f"add {key} = ...")
            return default
        value = self.data[key]
        return _coerce(self, key, value, kind, fix)

    def secret(self, key: str, required: bool, fix: str) -> Secret | None:
        env_key, file_key = f"{key}_env", f"{key}_file"
        self.read |= {env_key, file_key}
        has_env, has_file = env_key in self.data, file_key in self.data
        if has_env and has_file:
            raise self.fail(env_key, f"and {file_key} are both set", "keep one of them")
        if has_env:
            name = _coerce(self, env_key, self.data[env_key], str, "")
            value = self.ctx.environ.get(name, "")
            if not value:
                raise self.fail(env_key, f"names the environment variable {name}, which is not set",
                                f"export {name} or use {file_key} instead")
            return Secret(value)
        if has_file:
            path = self.ctx.resolve(_coerce(self, file_key, self.data[file_key], str, ""))
            # Under systemd, LoadCredential= hands the service its own copy of the file (the original is root's
            # alone): the same name in $CREDENTIALS_DIRECTORY wins, so one config serves the unit and root's commands.
            loaded = Path(self.ctx.environ.get("CREDENTIALS_DIRECTORY", "")) / path.name
            if self.ctx.environ.get("CREDENTIALS_DIRECTORY") and loaded.is_file():
                path = loaded
            try:
                value = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise self.fail(file_key, f"cannot be read ({exc.strerror})", "point it at a readable file") from None
            if not value:
                raise self.fail(file_key, "points at an empty file", "put the secret in it")
            return Secret(value)
        if required:
            raise self.fail(key, "is missing", f"set {env_key} = \"ENV_VAR\" or {file_key} = \"/path\"; {fix}")
        return None

    def table(self, key: str) -> "_Table":
        self.read.add(key)
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table", f"write it as [{self.where}{key}]")
        return _Table(value, f"[{self.where}{key}] ".replace("] [", ".").replace("[[", "["), self.ctx)

    def tables(self, key: str) -> list["_Table"]:
        self.read.add(key)
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, "must be an array of tables", f"write each entry as [[{key}]]")
        return [_Table(v, f"{key}[{i}] ", self.ctx) for i, v in enumerate(value)]

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.read)
        if unknown:
            key = unknown[0]
            close = difflib.get_close_matches(key, sorted(self.read), n=1)
            hint = f"did you mean {close[0]}?" if close else "remove it (see config.example.toml for every key)"
            raise self.fail(key, "is not a known key", hint.rstrip("?") if not close else f"did you mean {close[0]}")


@dataclass
class _Context:
    file: str
    base_dir: Path
    environ: Mapping[str, str]

    def resolve(self, text: str) -> Path:
        path = Path(text).expanduser()
        return path if path.is_absolute() else self.base_dir / path


def _coerce(table: _Table, key: str, value: Any, kind: type | str, fix: str) -> Any:
    ok = True
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif kind is str:
        ok = isinstance(value, str)
    elif kind == "strings":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        value = tuple(value) if ok else value
    elif kind is date:
        ok = isinstance(value, date) and not isinstance(value, datetime)
    elif kind is datetime:
        ok = isinstance(value, datetime) and value.tzinfo is not None
        value = value.astimezone(timezone.utc) if ok else value
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string", "strings": "a list of strings",
             date: "a date like 2026-06-01", datetime: "a date-time with offset like 2026-03-14T00:00:00Z"}
    if not ok:
        raise table.fail(key, f"must be {names[kind]}, not {value!r}", fix or f"write {key} as {names[kind]}")
    return value


def load_config(path: Path | None, environ: Mapping[str, str]) -> Config:
    """The config at `path`, or the embedded default (built-in simulated seller) when path is None."""
    if path is None:
        return default_config(RUN_STATE_DIR)
    raw = _read_toml(path, "the config file", "check the --config path")
    return parse_config(raw, _Context(str(path), path.resolve().parent, environ), path)


def _read_toml(path: Path, what: str, fix: str) -> dict[str, Any]:
    """A TOML file's tables, or a ConfigError naming the file, the problem and the fix."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what} ({exc.strerror}); {fix}.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax at that line.") from None


def default_config(state_dir: Path) -> Config:
    """The embedded default: the built-in simulated seller, SQLite under `state_dir`, alerts to the console and files."""
    raw = {"daemon": {"state_dir": str(state_dir)}, "simulator": {"enabled": True},
           "channels": [{"name": "console", "kind": "console"}, {"name": "files", "kind": "file"}]}
    return parse_config(raw, _Context("(built-in default config)", Path.cwd(), {}), None)


def parse_config(raw: Mapping[str, Any], ctx: _Context, path: Path | None) -> Config:
    root = _Table(raw, "", ctx)
    daemon = _daemon(root.table("daemon"), ctx)
    simulator = _simulator(root.table("simulator"))
    accounts = tuple(_account(t, simulator.enabled) for t in root.tables("accounts"))
    accounts_dir = root.get("accounts_dir", str, "")
    if accounts_dir:
        accounts += _accounts_in(root, ctx.resolve(accounts_dir), simulator.enabled)
    if not accounts:
        if not simulator.enabled:
            raise ConfigError(f"{ctx.file}: accounts is missing; add an [[accounts]] table, or set [simulator] enabled = true.")
        accounts = (_simulated_account(),)
    names = [a.name for a in accounts]
    if len(set(names)) != len(names):
        raise ConfigError(f"{ctx.file}: accounts name {_first_duplicate(names)!r} is used twice; give each account its own name.")
    alerts = _alerts(root.table("alerts"), set(names))
    channels = tuple(_channel(t, daemon.state_dir, set(names)) for t in root.tables("channels"))
    channel_names = [c.name for c in channels]
    if len(set(channel_names)) != len(channel_names):
        raise ConfigError(f"{ctx.file}: channels name {_first_duplicate(channel_names)!r} is used twice; give each channel its own name.")
    digests = _digests(root.table("digests"))
    silences = tuple(_silence(t, set(names)) for t in root.tables("silences"))
    http = _http(root.table("http"))
    root.done()
    return Config(path, daemon, simulator, accounts, alerts, channels, digests, silences, http)


def _http(t: _Table) -> HttpConfig:
    host = t.get("host", str, "127.0.0.1")
    port = t.get("port", int, 8787)
    if not 0 <= port <= 65535:
        raise t.fail("port", f"is {port}", "use a TCP port between 1 and 65535 (0 picks a free one)")
    allowed = t.get("allowed_hosts", list, [])
    for name in allowed:
        if not isinstance(name, str) or not re.fullmatch(r"(\*\.)?[A-Za-z0-9.\-]+|[0-9a-fA-F:]+", name):
            raise t.fail("allowed_hosts", f"has {name!r}, which is not a host name",
                         'list bare names as browsers send them, e.g. ["sentinel.example.com"] (no scheme, no port)')
    out = HttpConfig(enabled=t.get("enabled", bool, True), host=host, port=port,
                     token=t.secret("token", False, ""), public_url=_url(t, "public_url", ""),
                     allowed_hosts=tuple(name.lower() for name in allowed))
    if out.enabled and host not in LOOPBACK_HOSTS and out.token is None:
        raise t.fail("host", f"is {host!r}, beyond loopback, and no token is set",
                     "set token_env or token_file (the page then asks for it), or keep 127.0.0.1 behind a reverse proxy")
    if out.enabled and host in WILDCARD_HOSTS and not (out.allowed_hosts or out.public_url):
        raise t.fail("host", f"is {host!r}, every address, and no name is allowed",
                     "list the names browsers use in allowed_hosts (or set public_url); other names are refused")
    t.done()
    return out


def _first_duplicate(items: list[str]) -> str:
    return next(i for i in items if items.count(i) > 1)


def _daemon(t: _Table, ctx: _Context) -> DaemonConfig:
    state_dir = ctx.resolve(t.get("state_dir", str, "/var/lib/seller-sentinel"))
    url = t.get("database_url", str, "")
    if url and not url.startswith(("sqlite:///", "postgresql")):
        raise t.fail("database_url", f"is not a SQLite or PostgreSQL URL: {url.split('@')[-1]!r}",
                     "use sqlite:////path/file.db or postgresql+psycopg://user@host/db, or leave it empty")
    password = t.secret("database_password", False, "")
    if password is not None and url.startswith("postgresql"):
        url = re.sub(r"^(postgresql[^:]*://[^:@/]+)@", lambda m: f"{m.group(1)}:{password.reveal()}@", url)
    out = DaemonConfig(
        state_dir=state_dir, database_url=url or f"sqlite:///{state_dir / DATABASE_FILE}",
        poll_interval_minutes=_positive(t, "poll_interval_minutes", 15), performance_poll_hours=_positive(t, "performance_poll_hours", 6),
        feedback_poll_hours=_positive(t, "feedback_poll_hours", 6), deliver_interval_seconds=_positive(t, "deliver_interval_seconds", 30),
        http_timeout_seconds=_positive(t, "http_timeout_seconds", 30), backfill_days=t.get("backfill_days", int, 90),
        log_level=t.get("log_level", str, "INFO").upper(), orders_v0=t.get("orders_v0", bool, False),
        delivery_lookup_hours=_positive(t, "delivery_lookup_hours", 6),
        busy_timeout_seconds=_positive(t, "busy_timeout_seconds", 30),
        poll_workers=t.get("poll_workers", int, 4), lease_seconds=_positive(t, "lease_seconds", 60),
        history_from_reports=t.get("history_from_reports", bool, True),
        api_history_days=t.get("api_history_days", int, 45),
    )
    if out.api_history_days < 40:
        raise t.fail("api_history_days", f"is {out.api_history_days}",
                     "use 40 or more: the late-shipment, tracking and delivery windows reach back that far")
    if not 1 <= out.poll_workers <= 64:
        raise t.fail("poll_workers", f"is {out.poll_workers}", "use a number of threads between 1 and 64")
    if out.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise t.fail("log_level", f"is {out.log_level!r}", "use DEBUG, INFO, WARNING or ERROR")
    t.done()
    return out


def _positive(t: _Table, key: str, default: float) -> float:
    value = t.get(key, float, float(default))
    if value <= 0:
        raise t.fail(key, f"is {value:g}", "use a number above 0")
    return value


def _not_negative(t: _Table, key: str, default: float) -> float:
    value = t.get(key, float, float(default))
    if value < 0:
        raise t.fail(key, f"is {value:g}", "use 0 (at once) or a number of hours above 0")
    return value


def _simulator(t: _Table) -> SimulatorConfig:
    out = SimulatorConfig(enabled=t.get("enabled", bool, False), scenario=t.get("scenario", str, "builtin:demo"),
                          speed=_positive(t, "speed", 1.0), seed=t.get("seed", int, 1))
    t.done()
    return out


def _simulated_account() -> AccountConfig:
    cid, secret, token = (Secret(v) for v in SIMULATOR_CREDENTIALS)
    return AccountConfig("sim", "A2SIMSELLER01", ("ATVPDKIKX0DER",), cid, secret, token)


def _account(t: _Table, simulated: bool) -> AccountConfig:
    name = t.get("name", str)
    if not re.fullmatch(r"[a-z0-9_-]{1,40}", name):
        raise t.fail("name", f"is {name!r}", "use lower-case letters, digits, - and _")
    marketplaces = t.get("marketplaces", "strings")
    if not marketplaces:
        raise t.fail("marketplaces", "is empty", "list at least one marketplace id, e.g. [\"ATVPDKIKX0DER\"]")
    for mp in marketplaces:
        if mp not in MARKETPLACES:
            raise t.fail("marketplaces", f"contains the unknown marketplace id {mp!r}", "use Amazon's ids, e.g. ATVPDKIKX0DER for the US")
    region = t.get("region", str, "na")
    if region not in REGIONS:
        raise t.fail("region", f"is {region!r}", "use na, eu or fe")
    fix = "create them in Seller Central > Apps and Services > Develop Apps"
    defaults = [Secret(v) for v in SIMULATOR_CREDENTIALS]
    secrets = [t.secret(key, not simulated, fix) or default
               for key, default in zip(("lwa_client_id", "lwa_client_secret", "refresh_token"), defaults)]
    out = AccountConfig(
        name=name, seller_id=t.get("seller_id", str), marketplaces=marketplaces, lwa_client_id=secrets[0],
        lwa_client_secret=secrets[1], refresh_token=secrets[2], region=region, api_url=_url(t, "api_url", ""),
        token_url=_url(t, "token_url", "https://api.amazon.com/auth/o2/token"),
        lwa_client_secret_rotated_on=t.get("lwa_client_secret_rotated_on", date, None),
        otdr_enforced=t.get("otdr_enforced", "strings", ("ATVPDKIKX0DER",)),
        marketplaces_ship_together=t.get("marketplaces_ship_together", bool, True),
    )
    t.done()
    return out


def _accounts_in(root: _Table, directory: Path, simulated: bool) -> tuple[AccountConfig, ...]:
    """An agency's accounts, one file each (`<name>.toml`, the keys of an [[accounts]] table at its top level), so
    adding an account means adding a file."""
    if not directory.is_dir():
        raise root.fail("accounts_dir", f"is {str(directory)!r}, which is not a directory",
                        "create it with one <account>.toml per account, or remove the key")
    accounts = []
    for path in sorted(directory.glob("*.toml")):
        raw = _read_toml(path, "the account file", "check its permissions")
        raw.setdefault("name", path.stem)
        accounts.append(_account(_Table(raw, "", _Context(str(path), path.parent, root.ctx.environ)), simulated))
    return tuple(accounts)


def _url(t: _Table, key: str, default: str) -> str:
    value = t.get(key, str, default)
    if value and not re.match(r"^https?://[^/\s]+", value):
        raise t.fail(key, "is not an http(s) URL", "write it as https://host/path")
    return value


def _margins(t: _Table, metric: str, fallback: Margins) -> Margins:
    limit, direction = METRIC_LIMITS[metric]
    warning = t.get("warning", float, None)
    critical = t.get("critical", float, None)
    warning_left = t.get("warning_defects_left", int, None)
    critical_left = t.get("critical_defects_left", int, None)
    if warning is None and warning_left is None and critical is None and critical_left is None:
        t.done()
        return fallback
    rates = [("warning", warning), ("critical", critical)]
    for key, value in rates:
        if value is not None and not 0 < value < 1:
            raise t.fail(key, f"is {value:g}", "give the rate as a fraction, e.g. 0.0075 for 0.75%")
    if warning is not None and critical is not None:
        ordered = warning < critical < limit if direction == "upper" else warning > critical > limit
        if not ordered:
            relation = "<" if direction == "upper" else ">"
            raise t.fail("warning", f"{warning:g} and critical {critical:g} are out of order",
                         f"keep warning {relation} critical {relation} the limit {limit:g}")
    for key, value in (("warning", warning), ("critical", critical)):
        if value is not None and (value >= limit if direction == "upper" else value <= limit):
            raise t.fail(key, f"{value:g} is past the limit {limit:g}", "pick a margin before the limit")
    t.done()
    return Margins(warning, critical, warning_left, critical_left)


def _alerts(t: _Table, accounts: set[str]) -> AlertsConfig:
    margins_table = t.table("margins")
    margins = {}
    for metric, (warning, critical) in DEFAULT_MARGINS.items():
        margins[metric] = _margins(margins_table.table(metric), metric, Margins(warning, critical))
    margins_table.done()
    stale_table = t.table("feed_stale_hours")
    stale = {feed: _positive(stale_table, feed, hours) for feed, hours in DEFAULT_STALE_HOURS.items()}
    stale_table.done()
    overrides = []
    for o in t.tables("overrides"):
        account = o.get("account", str)
        if account not in accounts:
            raise o.fail("account", f"names the unknown account {account!r}", f"use one of {', '.join(sorted(accounts))}")
        metric = o.get("metric", str, None)
        if metric is not None and metric not in METRIC_LIMITS:
            raise o.fail("metric", f"is {metric!r}", f"use one of {', '.join(METRIC_LIMITS)}")
        marketplace = o.get("marketplace", str, None)
        overrides.append(MarginOverride(account, marketplace, metric, _margins(o, metric or "odr", Margins())))
    out = AlertsConfig(
        repeat_interval_hours=_positive(t, "repeat_interval_hours", 168),
        forecast_horizon_days=t.get("forecast_horizon_days", int, 30),
        pending_evaluations=t.get("pending_evaluations", int, 1), settle_hours=t.get("settle_hours", float, 24.0),
        worse_hold_hours=_not_negative(t, "worse_hold_hours", 24),
        poll_failure_minutes=_positive(t, "poll_failure_minutes", 60),
        secret_expiry_warning_days=t.get("secret_expiry_warning_days", int, 30),
        ahr_floor=t.get("ahr_floor", int, 200), ahr_drop_step=t.get("ahr_drop_step", int, 50),
        **_chances(t), **_hysteresis(t), feed_stale_hours=stale, margins=margins, overrides=tuple(overrides),
    )
    t.done()
    return out


def _hysteresis(t: _Table) -> dict[str, Any]:
    """How a margin warning resolves: clear of its margin by a band, for a number of days."""
    default = Hysteresis()
    band = t.get("margin_clear_band", float, default.band)
    if not 0 <= band <= 1:
        raise t.fail("margin_clear_band", f"is {band}",
                     "give a share of the distance from the margin to the limit between 0 and 1, e.g. 0.5")
    days = t.get("margin_clear_days", int, default.days)
    if days < 0:
        raise t.fail("margin_clear_days", f"is {days}", "give a whole number of days, 0 or more")
    chance = t.get("margin_clear_chance", float, default.negligible)
    if not 0 <= chance < 1:
        raise t.fail("margin_clear_chance", f"is {chance}", "give a chance between 0 and 1, e.g. 0.02 for one in fifty")
    return {"margin_clear_band": band, "margin_clear_days": days, "margin_clear_chance": chance}


def _chances(t: _Table) -> dict[str, Any]:
    """The probability levels; a chance is a fraction between 0 and 1, a horizon a whole number of days."""
    default = Chances()
    out: dict[str, Any] = {}
    for key, value in (("critical_probability", default.critical_probability),
                       ("warning_probability", default.warning_probability)):
        out[key] = t.get(key, float, value)
        if not 0 < out[key] <= 1:
            raise t.fail(key, f"is {out[key]}", "give a chance between 0 and 1, e.g. 0.5 for one in two")
    for key, value in (("critical_within_days", default.critical_days), ("warning_within_days", default.warning_days)):
        out[key] = t.get(key, int, value)
        if out[key] < 1:
            raise t.fail(key, f"is {out[key]}", "give a whole number of days, 1 or more")
    return out


def _channel(t: _Table, state_dir: Path, accounts: set[str]) -> ChannelConfig:
    name = t.get("name", str)
    kind = t.get("kind", str)
    if kind not in CHANNEL_KINDS:
        raise t.fail("kind", f"is {kind!r}", f"use one of {', '.join(CHANNEL_KINDS)}")
    min_level = t.get("min_level", str, "warning")
    if min_level not in LEVELS:
        raise t.fail("min_level", f"is {min_level!r}", "use warning, critical or breach")
    only = t.get("accounts", "strings", ())
    for account in only:
        if account not in accounts:
            raise t.fail("accounts", f"names the unknown account {account!r}", f"use one of {', '.join(sorted(accounts))}")
    common = dict(name=name, kind=kind, min_level=min_level, accounts=only, enabled=t.get("enabled", bool, True),
                  digests=t.get("digests", bool, False))
    if kind == "console":
        stream = t.get("stream", str, "stderr")
        if stream not in ("stderr", "stdout"):
            raise t.fail("stream", f"is {stream!r}", "use stderr or stdout")
        out = ChannelConfig(**common, stream=stream)
    elif kind == "file":
        out = ChannelConfig(**common, directory=t.ctx.resolve(t.get("directory", str, str(state_dir / "alerts"))))
    elif kind == "email":
        recipients = t.get("recipients", "strings")
        for address in recipients + (t.get("sender", str),):
            if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", address):
                raise t.fail("recipients" if address in recipients else "sender", f"contains {address!r}, not an e-mail address",
                             "write addresses like ops@example.com")
        if not recipients:
            raise t.fail("recipients", "is empty", "list at least one address")
        ca_file = t.get("ca_file", str, "")
        security = t.get("security", str, "starttls")
        if security not in ("starttls", "tls", "none"):
            raise t.fail("security", f"is {security!r}", "use starttls, tls or none")
        out = ChannelConfig(**common, host=t.get("host", str, fix="set it to your SMTP server's host name"),
                            port=t.get("port", int, 587), security=security, username=t.get("username", str, ""),
                            password=t.secret("password", False, ""), sender=t.get("sender", str), recipients=recipients,
                            ca_file=t.ctx.resolve(ca_file) if ca_file else None,
                            timeout_seconds=_positive(t, "timeout_seconds", 30))
    elif kind == "slack":
        out = ChannelConfig(**common, webhook_url=t.secret("webhook_url", True, "use the Slack Incoming Webhook URL"),
                            timeout_seconds=_positive(t, "timeout_seconds", 15))
    elif kind == "ticket":
        out = _ticket_channel(t, common)
    else:
        mode = t.get("mode", str, "standard")
        if mode not in ("standard", "pagerduty"):
            raise t.fail("mode", f"is {mode!r}", "use standard or pagerduty")
        out = ChannelConfig(**common, url=_url(t, "url", "") or _required_url(t), mode=mode,
                            signing_secret=t.secret("signing_secret", True, "generate one with: openssl rand -base64 32"),
                            routing_key=t.secret("routing_key", mode == "pagerduty", "use the PagerDuty integration key"),
                            timeout_seconds=_positive(t, "timeout_seconds", 15))
    t.done()
    return out


def _ticket_channel(t: _Table, common: dict[str, Any]) -> ChannelConfig:
    tracker = t.get("tracker", str, fix="set it to github, jira, zendesk or freshdesk")
    if tracker not in TRACKERS:
        raise t.fail("tracker", f"is {tracker!r}", "use github, jira, zendesk or freshdesk (for another tracker, use a "
                     "webhook channel and the recipe in the README)")
    if common["digests"]:
        raise t.fail("digests", "is true", "remove it: digests are no incidents, send them by e-mail or Slack")
    reopen_days = t.get("reopen_days", int, 7)
    if reopen_days < 0:
        raise t.fail("reopen_days", f"is {reopen_days}", "use 0 (never reopen) or more days")
    shared = dict(**common, tracker=tracker, labels=t.get("labels", "strings", ()), reopen_days=reopen_days,
                  close_on_resolve=t.get("close_on_resolve", bool, True),
                  timeout_seconds=_positive(t, "timeout_seconds", 15))
    if tracker == "jira":
        return ChannelConfig(**shared, **_jira(t, shared["labels"]))
    if tracker == "zendesk":
        return ChannelConfig(**shared, **_zendesk(t, shared["labels"]))
    if tracker == "freshdesk":
        return ChannelConfig(**shared, **_freshdesk(t, shared["labels"]))
    repository = t.get("repository", str, fix="set it to the repository's owner/name, e.g. acme/seller-ops")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+", repository):
        raise t.fail("repository", f"is {repository!r}", "write it as owner/name, e.g. acme/seller-ops")
    return ChannelConfig(
        **shared, url=_url(t, "url", "https://api.github.com"), repository=repository,
        token=t.secret("token", True, "create a fine-grained token with Issues: read and write on the repository"),
        assignees=t.get("assignees", "strings", ()))


def _jira(t: _Table, labels: tuple[str, ...]) -> dict[str, Any]:
    """Jira's keys: the site and its edition, the project, the account and its token, how the workflow is driven."""
    edition = t.get("edition", str, "cloud")
    if edition not in EDITIONS:
        raise t.fail("edition", f"is {edition!r}", "use cloud (…atlassian.net) or data_center (your own server)")
    url = _url(t, "url", "") or _missing(t, "url", "set it to the site's address, e.g. https://acme.atlassian.net")
    project = t.get("project", str, fix="set it to the project's key, e.g. OPS")
    if not re.fullmatch(r"[A-Z][A-Z0-9_]{1,9}", project):
        raise t.fail("project", f"is {project!r}", "use the project's key as Jira shows it, e.g. OPS")
    email = ""
    if edition == "cloud":
        email = t.get("email", str, fix="set it to the e-mail address of the account the API token belongs to")
        if "@" not in email:
            raise t.fail("email", f"is {email!r}", "use the e-mail address of the account the API token belongs to")
    for label in labels:
        if not label or any(c.isspace() for c in label):
            raise t.fail("labels", f"holds {label!r}", "Jira labels are single words: remove the spaces")
    priorities = t.table("priorities")
    chosen = tuple((level, name) for level in LEVELS if (name := priorities.get(level, str, "")))
    priorities.done()
    assignees = t.get("assignees", "strings", ())
    if len(assignees) > 1:
        raise t.fail("assignees", f"holds {len(assignees)} people", "a Jira issue has one assignee: keep one")
    token_fix = ("create an API token at https://id.atlassian.com/manage-profile/security/api-tokens"
                 if edition == "cloud" else "create a personal access token in your Jira profile")
    return dict(
        url=url.rstrip("/"), edition=edition, project=project, email=email, assignees=assignees, priorities=chosen,
        token=t.secret("token", True, token_fix),
        issue_type=t.get("issue_type", str, "Task"), close_transition=t.get("close_transition", str, "Done"),
        reopen_transition=t.get("reopen_transition", str, "To Do"))


def _zendesk(t: _Table, tags: tuple[str, ...]) -> dict[str, Any]:
    """Zendesk's keys: the account's address, the agent and API token, where tickets go and how urgent they are."""
    url = _url(t, "url", "") or _missing(t, "url", "set it to your Zendesk's address, e.g. https://acme.zendesk.com")
    email = _agent_email(t, "set it to the e-mail address of the agent the API token acts as")
    assignees = t.get("assignees", "strings", ())
    if len(assignees) > 1 or any("@" not in a for a in assignees):
        raise t.fail("assignees", f"is {list(assignees)!r}", "give one agent's e-mail address, or none to assign "
                     "tickets to the agent the token acts as")
    return dict(url=url.rstrip("/"), email=email, assignees=assignees, **_helpdesk(t, tags, "Zendesk", ZENDESK_PRIORITIES),
                token=t.secret("token", True, "create an API token in Admin Center > Apps and integrations > "
                                              "Zendesk API"))


def _freshdesk(t: _Table, tags: tuple[str, ...]) -> dict[str, Any]:
    """Freshdesk's keys: the helpdesk's address, the API key, who requests the tickets, where they go."""
    url = _url(t, "url", "") or _missing(t, "url", "set it to your helpdesk's address, e.g. https://acme.freshdesk.com")
    email = _agent_email(t, "set it to the e-mail address the tickets are requested by, e.g. the API key's agent")
    return dict(url=url.rstrip("/"), email=email, **_helpdesk(t, tags, "Freshdesk", tuple(FRESHDESK_PRIORITIES)),
                token=t.secret("token", True, "copy the API key from your Freshdesk profile settings"))


def _agent_email(t: _Table, fix: str) -> str:
    email = t.get("email", str, fix=fix)
    if "@" not in email:
        raise t.fail("email", f"is {email!r}", fix.replace("set it to", "use"))
    return email


def _helpdesk(t: _Table, tags: tuple[str, ...], name: str, priority_names: tuple[str, ...]) -> dict[str, Any]:
    """What Zendesk and Freshdesk share: single-word tags, a priority name per level, a group by its number."""
    for tag in tags:
        if not re.fullmatch(r"[^\s,]{1,32}", tag):
            raise t.fail("labels", f"holds {tag!r}", f"{name} tags are single words of up to 32 characters: remove "
                         "spaces and commas")
    priorities = t.table("priorities")
    chosen = []
    for level in LEVELS:
        chosen_name = priorities.get(level, str, "")
        if chosen_name and chosen_name not in priority_names:
            raise priorities.fail(level, f"is {chosen_name!r}", f"use one of {', '.join(priority_names)}")
        if chosen_name:
            chosen.append((level, chosen_name))
    priorities.done()
    group_id = t.get("group_id", int, 0)
    if group_id < 0:
        raise t.fail("group_id", f"is {group_id}", f"use the group's number as {name} shows it, or 0 for the default")
    return dict(priorities=tuple(chosen), group_id=group_id or None)


def _missing(t: _Table, key: str, fix: str) -> str:
    raise t.fail(key, "is missing", fix)


def _required_url(t: _Table) -> str:
    raise t.fail("url", "is missing", "set it to the receiver's https:// URL")


def _digests(t: _Table) -> DigestsConfig:
    out = DigestsConfig(daily=t.get("daily", bool, True), daily_at=_clock_time(t, "daily_at"), weekly=t.get("weekly", bool, True),
                        weekly_day=t.get("weekly_day", str, "monday").lower(), weekly_at=_clock_time(t, "weekly_at"))
    if out.weekly_day not in WEEKDAYS:
        raise t.fail("weekly_day", f"is {out.weekly_day!r}", "use a weekday name like monday")
    t.done()
    return out


def _clock_time(t: _Table, key: str) -> str:
    value = t.get(key, str, "07:00")
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise t.fail(key, f"is {value!r}", "write a UTC time as HH:MM, e.g. 07:00")
    return value


def _silence(t: _Table, accounts: set[str]) -> SilenceConfig:
    account = t.get("account", str)
    if account not in accounts:
        raise t.fail("account", f"names the unknown account {account!r}", f"use one of {', '.join(sorted(accounts))}")
    out = SilenceConfig(account=account, until=t.get("until", datetime), reason=t.get("reason", str, fix="say why it is muted"),
                        marketplace=t.get("marketplace", str, None), metric=t.get("metric", str, None))
    t.done()
    return out


def describe_config(config: Config) -> str:
    """The effective config as readable text, every secret shown as ***."""
    lines = [f"# effective config of {config.path or 'the built-in default'}"]

    def emit(prefix: str, value: Any) -> None:
        for f in fields(value):
            item = getattr(value, f.name)
            if is_dataclass(item):
                emit(f"{prefix}{f.name}.", item)
            elif isinstance(item, Secret):
                lines.append(f"{prefix}{f.name} = ***")
            elif isinstance(item, tuple) and item and is_dataclass(item[0]):
                for i, entry in enumerate(item):
                    emit(f"{prefix}{f.name}[{i}].", entry)
            elif isinstance(item, Mapping):
                for key, entry in item.items():
                    if is_dataclass(entry):
                        emit(f"{prefix}{f.name}.{key}.", entry)
                    else:
                        lines.append(f"{prefix}{f.name}.{key} = {entry!r}")
            else:
                shown = "postgresql://***" if f.name == "database_url" and "@" in str(item) else item
                lines.append(f"{prefix}{f.name} = {shown!r}" if not isinstance(shown, Path) else f"{prefix}{f.name} = '{shown}'")
    for section in ("daemon", "simulator", "accounts", "alerts", "channels", "digests", "silences"):
        value = getattr(config, section)
        if isinstance(value, tuple):
            for i, entry in enumerate(value):
                emit(f"{section}[{i}].", entry)
        else:
            emit(f"{section}.", value)
    return "\n".join(lines)
