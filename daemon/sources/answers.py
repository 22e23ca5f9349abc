"""What counts as a well-formed SP-API answer: JSON of the right shape, or Amazon's own error body (REALITY.md).

python-amazon-sp-api 2.1.35 raises only when a JSON body carries `errors`; an HTML gateway page, an empty
body or a 5xx without an errors list comes back as an empty success. These checks turn every such answer
into UnreadableAnswer, which the caller retries like a 5xx and never mistakes for "no records".
"""
from __future__ import annotations

import json
import ssl
from typing import Any

import httpx
from sp_api.base._transport_httpx import HttpxTransport

from daemon.errors import UnreadableAnswer

# The key each operation's payload must carry (after the library unwraps `payload`), per Amazon's models.
EXPECTED_KEY: dict[str, tuple[str, type]] = {
    "getOrders": ("Orders", list),
    "getOrderItems": ("OrderItems", list),
    "searchOrders": ("orders", list),
    "getOrder": ("order", dict),
    "createReport": ("reportId", str),
    "getReport": ("processingStatus", str),
    "getReportDocument": ("url", str),
    "listFinancialEvents": ("FinancialEvents", dict),
    "listFinancialEventsByOrderId": ("FinancialEvents", dict),
}


def answer_problem(response: httpx.Response) -> str | None:
    """Why an HTTP answer is not SP-API JSON the library can judge, or None when it is."""
    content_type = response.headers.get("content-type", "")
    described = f"{response.status_code} {content_type.split(';')[0] or 'without a content type'}"
    if not response.content.strip():
        return f"{described} with an empty body"
    if "json" not in content_type.lower():
        return f"{described}: {_snippet(response.content)}"
    try:
        body = json.loads(response.content)
    except ValueError:
        return f"{described} whose body is not JSON: {_snippet(response.content)}"
    if not isinstance(body, dict):
        return f"{described} whose body is not a JSON object"
    if response.status_code >= 400 and not body.get("errors"):
        return f"{described} without an errors list"
    return None


def check_payload(operation: str, payload: Any) -> None:
    """Raise UnreadableAnswer when a success lacks the list or object its operation always returns."""
    key, kind = EXPECTED_KEY.get(operation, (None, object))
    if key is None:
        return
    if not isinstance(payload, dict) or not isinstance(payload.get(key), kind):
        raise UnreadableAnswer(f"{operation} answered without {key}")


def _snippet(body: bytes) -> str:
    """The first words of a body for the log: enough to recognise a gateway page, never a whole document."""
    return " ".join(body[:120].decode("utf-8", "replace").split())


class CheckedTransport(HttpxTransport):
    """The library's transport, refusing answers that are not SP-API JSON before the library can swallow them."""

    def __init__(self, timeout_seconds: float, verify: ssl.SSLContext | bool = True) -> None:
        super().__init__(timeout=timeout_seconds, verify=verify)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = super().request(method, url, **kwargs)
        problem = answer_problem(response)
        if problem is not None:
            raise UnreadableAnswer(problem)
        return response
