"""The trackers' own published API descriptions, fetched from a package registry once and checked by their hash.

GitHub publishes its REST API's OpenAPI description, also as the npm package @octokit/openapi; the tests validate
every request the ticket channel sends, and every answer the loopback fake gives, against it with openapi-core.
Kept under .cache/ at the project's root (not in git).
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from filelock import FileLock
from openapi_core import Config, OpenAPI

CACHE = Path(__file__).resolve().parents[2] / ".cache" / "vendor-api"
GITHUB_PACKAGE = "https://registry.npmjs.org/@octokit/openapi/-/openapi-23.0.2.tgz"
GITHUB_INTEGRITY = "sha512-pV8M7L9GY23AybNvTmo2nyjmpmnt6+2sRE/tqr0ZLQcPS4lnw7u5eZGNmwRNkBC3D7gZXbFx5AHzLUVRBXGDhg=="
GITHUB_MEMBER = "package/generated/api.github.com.json"
GITHUB_PATHS = ("/repos/{owner}/{repo}/issues", "/repos/{owner}/{repo}/issues/{issue_number}",
                "/repos/{owner}/{repo}/issues/{issue_number}/comments")


def github_description() -> Path:
    """api.github.com.json from the pinned package, downloaded on first use."""
    CACHE.mkdir(parents=True, exist_ok=True)
    target = CACHE / "api.github.com.json"
    with FileLock(str(CACHE / "fetch.lock")):
        if not target.exists():
            try:
                packed = httpx.get(GITHUB_PACKAGE, timeout=120, follow_redirects=True).raise_for_status().content
            except httpx.HTTPError as exc:
                raise RuntimeError(f"cannot fetch GitHub's API description from the npm registry ({exc}); "
                                   f"the ticket tests need it once, then it is kept in {CACHE}") from exc
            digest = "sha512-" + base64.b64encode(hashlib.sha512(packed).digest()).decode()
            if digest != GITHUB_INTEGRITY:
                raise RuntimeError(f"{GITHUB_PACKAGE} does not match its pinned integrity hash")
            with tarfile.open(fileobj=io.BytesIO(packed)) as archive:
                member = archive.extractfile(GITHUB_MEMBER)
                assert member is not None
                partial = target.with_suffix(".part")
                partial.write_bytes(member.read())
                partial.replace(target)
    return target


@cache
def github_openapi() -> OpenAPI:
    """GitHub's description with the issue paths the channel uses (every component kept, for their references)."""
    document: dict[str, Any] = json.loads(github_description().read_text(encoding="utf-8"))
    document["paths"] = {path: document["paths"][path] for path in GITHUB_PATHS}
    # The full document is checked by GitHub's own tooling; validating it again here only costs time.
    return OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))
