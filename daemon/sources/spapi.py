"""Builds the real python-amazon-sp-api clients for one account and makes every call throttled, timed out and classified.

The simulator is targeted only through the endpoint object and an AccessTokenClient subclass
(SPAPI_NOTES §10); in production the same code talks to Amazon.
"""
from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import certifi
import httpx
from sp_api.api import Finances, Orders, Reports
from sp_api.auth import AccessTokenClient
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base import ApiResponse, SellingApiException, SellingApiRequestThrottledException
from sp_api.base._transport_httpx import HttpxTransport

from daemon.clock import Clock
from daemon.errors import BudgetSpent, InvalidRequest, SourceError, SourceUnavailable, Throttled, UnreadableAnswer
from daemon.sources.answers import CheckedTransport, check_payload
from daemon.sources.throttle import RateLimiter
from daemon.telemetry import SPAPI_CALLS, THROTTLES

logger = logging.getLogger(__name__)

AMAZON_ENDPOINTS = {
    "na": ("https://sellingpartnerapi-na.amazon.com", "us-east-1"),
    "eu": ("https://sellingpartnerapi-eu.amazon.com", "eu-west-1"),
    "fe": ("https://sellingpartnerapi-fe.amazon.com", "us-west-2"),
}
AMAZON_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
# The library raises its base exception (code 999) for 401, so an unauthorised call is known by Amazon's error code.
REFUSED_CODES = frozenset({"Unauthorized", "InvalidAccessToken", "AccessDenied", "UnauthorizedAccess"})


@dataclass(frozen=True)
class AccountEndpoint:
    """Where and as whom one account talks to SP-API; secrets are plain strings here, never logged."""

    account: str
    marketplace_ids: tuple[str, ...]
    lwa_app_id: str = field(repr=False)
    lwa_client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    region: str = "na"
    api_url: str = ""
    token_url: str = AMAZON_TOKEN_URL
    timeout_seconds: float = 30.0

    @property
    def base_url(self) -> str:
        return self.api_url or AMAZON_ENDPOINTS[self.region][0]


def token_client_class(token_url: str, timeout_seconds: float) -> type[AccessTokenClient]:
    """An AccessTokenClient that posts to `token_url` with a timeout (the library's own has none of its own)."""
    parts = urlsplit(token_url)

    class ConfiguredAccessTokenClient(AccessTokenClient):
        scheme = f"{parts.scheme}://"
        host = parts.netloc
        path = parts.path or "/auth/o2/token"

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._transport.close()  # the library's own transport has no timeout (PITFALLS #11)
            self._transport = HttpxTransport(timeout=timeout_seconds, proxies=self.proxies, verify=self.verify)

    return ConfiguredAccessTokenClient


@functools.cache
def shared_tls() -> ssl.SSLContext:
    """One TLS context for every client of the process: each context holds its own copy of the CA bundle (about a
    megabyte), and an agency's hundreds of accounts have a dozen clients each."""
    return ssl.create_default_context(cafile=certifi.where())


class SpApiClients:
    """The API clients of one account (Orders v0, Orders 2026-01-01, Reports, Finances v0) and its report downloads."""

    def __init__(self, endpoint: AccountEndpoint) -> None:
        region = AMAZON_ENDPOINTS.get(endpoint.region, AMAZON_ENDPOINTS["na"])[1]
        # Report documents come from a presigned URL, outside the clients: one reused connection pool, raw bytes.
        self.downloads = httpx.Client(timeout=endpoint.timeout_seconds, trust_env=False, verify=shared_tls())
        marketplace = SimpleNamespace(endpoint=endpoint.base_url, marketplace_id=endpoint.marketplace_ids[0], region=region)
        common: dict[str, Any] = {
            "marketplace": marketplace,
            "credentials": {"refresh_token": endpoint.refresh_token, "lwa_app_id": endpoint.lwa_app_id,
                            "lwa_client_secret": endpoint.lwa_client_secret},
            "timeout": endpoint.timeout_seconds, "verify": shared_tls(),
            "auth_token_client_class": token_client_class(endpoint.token_url, endpoint.timeout_seconds),
        }
        self.orders = Orders(**common)
        self.orders_2026 = Orders(version="2026-01-01", **common)
        self.reports = Reports(**common)
        self.finances = Finances(**common)
        for client in (self.orders, self.orders_2026, self.reports, self.finances):
            # The library hands HTML, empty and non-JSON answers back as empty successes (REALITY.md): check them.
            client._transport.close()
            client._transport = CheckedTransport(endpoint.timeout_seconds, shared_tls())


class SpApiCaller:
    """Calls one SP-API operation: waits for its usage plan first, backs off on 429 and 5xx, classifies failures."""

    def __init__(self, account: str, clock: Clock, limiter: RateLimiter | None = None, max_tries: int = 8,
                 max_backoff_seconds: float = 300.0, max_failures: int = 4) -> None:
        self.account = account
        self.clock = clock
        self.limiter = limiter or RateLimiter(clock)
        self.max_tries = max_tries  # 429s in a row before giving up with Throttled
        self.max_failures = max_failures  # 5xx or transport failures in a row before SourceUnavailable
        self.max_backoff_seconds = max_backoff_seconds
        self.calls = 0
        # Where waits are real: an earlier call of this account gave up on an unavailable Amazon and none has worked
        # since, so during an outage each feed tries once per turn and waits for nothing.
        self._unavailable = False

    def pause(self, seconds: float, why: str) -> None:
        """Wait for Amazon (a report being made), or, where waits are real and this one is longer than a poll may
        hold its worker, raise BudgetSpent: the feed takes up the same report at the account's next turn."""
        patience = self.limiter.max_wait_seconds
        if patience is not None and seconds > patience:
            raise BudgetSpent(why)
        self.clock.sleep(seconds)

    def _give_up_unavailable(self) -> None:
        if self.limiter.max_wait_seconds is not None:
            self._unavailable = True

    def call(self, operation: str, fn: Callable[..., ApiResponse], *args: Any, **kwargs: Any) -> ApiResponse:
        """One logical call; raises Throttled or SourceUnavailable when retrying cannot help now.

        Only a well-formed success counts as read: an edge page, an empty body or a payload without its list
        is a failed try like a 5xx (REALITY.md), so no caller ever moves a cursor over data it did not see.
        """
        delay = self.limiter.interval(operation)
        throttled = failures = 0
        waited = 0.0
        while True:
            giving_up: SourceError
            self.limiter.acquire(operation)
            self.calls += 1
            SPAPI_CALLS.labels(self.account, operation).inc()
            try:
                response = fn(*args, **kwargs)
                self.limiter.observe(operation, response.rate_limit)
                check_payload(operation, response.payload)
                self._unavailable = False
                return response
            except SellingApiRequestThrottledException:
                THROTTLES.labels(self.account, operation).inc()
                self.limiter.throttled(operation)
                throttled += 1
                giving_up = Throttled(f"account {self.account}: {operation} still throttled after {throttled} tries",
                                      retry_after=delay)
                if throttled >= self.max_tries:
                    raise giving_up from None
                logger.info("throttled account=%s operation=%s wait_seconds=%.0f", self.account, operation, delay)
            except AuthorizationError as exc:
                raise SourceUnavailable(
                    f"account {self.account}: Amazon refused the LWA credentials ({exc.error_code})",
                    credentials_refused=True,
                ) from None
            except SellingApiException as exc:
                status = exc.code
                amzn_code = getattr(exc, "amzn_code", None)
                if status == 403 or amzn_code in REFUSED_CODES:
                    raise SourceUnavailable(
                        f"account {self.account}: {operation} denied ({amzn_code})", credentials_refused=True
                    ) from None
                if status in (400, 404):  # a bad request, or a report or order Amazon does not know (any more)
                    raise InvalidRequest(
                        f"account {self.account}: {operation} rejected: {amzn_code} {getattr(exc, 'message', '')}"
                    ) from None
                failures += 1
                giving_up = SourceUnavailable(f"account {self.account}: {operation} failed: {status} {amzn_code}")
                if status not in RETRYABLE_STATUS or failures >= self.max_failures:
                    self._give_up_unavailable()
                    raise giving_up from None
                logger.info("server error account=%s operation=%s status=%s", self.account, operation, status)
            except UnreadableAnswer as exc:
                failures += 1
                giving_up = SourceUnavailable(f"account {self.account}: {operation} answered badly: {exc}")
                if failures >= self.max_failures:
                    self._give_up_unavailable()
                    raise giving_up from None
                logger.warning("bad answer account=%s operation=%s problem=%s", self.account, operation, exc)
            except httpx.TransportError as exc:
                failures += 1
                giving_up = SourceUnavailable(f"account {self.account}: {operation} unreachable: {type(exc).__name__}")
                if failures >= self.max_failures:
                    self._give_up_unavailable()
                    raise giving_up from None
                logger.info("transport error account=%s operation=%s error=%s", self.account, operation, type(exc).__name__)
            patience = self.limiter.max_wait_seconds
            if patience is not None and (self._unavailable or waited + delay > patience):
                # Waiting would hold the worker past the poll's budget (other accounts are due), or Amazon is already
                # known to be down: this try counts as the feed's failure, its cursor stays, and the account's next
                # turn tries again.
                self._unavailable = self._unavailable or isinstance(giving_up, SourceUnavailable)
                raise giving_up from None
            self.clock.sleep(delay)
            waited += delay
            delay = min(delay * 2, self.max_backoff_seconds)
