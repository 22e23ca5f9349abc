"""What Jira shows: a note as Jira Cloud's Atlassian Document Format, or as Jira Data Center's wiki markup.

In a document, text is only ever text. In wiki markup every character that starts markup is escaped with a
backslash, and a backslash itself is written as an entity (a backslash before markup would escape it), as pandoc's
Jira writer does; so an alert's text cannot link, mention anyone, embed an image or call a macro in either.
"""
from __future__ import annotations

import re
from typing import Any

from alerts.channels.trackers.base import Note

# Characters that open or close wiki markup: emphasis, citations, strike, under, super/subscript, macros, links,
# tables, images, lists, mentions ([~name]); a line's start can also make a heading or a quote.
_WIKI_MARKUP = re.compile(r"([*_?\-+^~{}\[\]|!#\\])")
_LINE_START = re.compile(r"^(h[1-6]|bq)\.")


def adf(note: Note, follows: str | None = None) -> dict[str, Any]:
    """A note as an Atlassian Document Format document; links only to http(s) addresses."""
    content: list[dict[str, Any]] = [_paragraph(_text(p)) for p in note.paragraphs if p.strip()]
    for heading, lines in note.bullets:
        if lines:
            content.append(_paragraph(_text(heading, [{"type": "strong"}])))
            content.append({"type": "bulletList", "content": [
                {"type": "listItem", "content": [_paragraph(_text(line))]} for line in lines if line.strip()]})
    links: list[dict[str, Any]] = []
    for words, url in note.links:
        if _safe_url(url) and words.strip():
            links += ([_text(" · ")] if links else []) + [_text(words, [_link(url)])]
    if links:
        content.append({"type": "paragraph", "content": links})
    if follows and _safe_url(follows):
        content.append({"type": "paragraph", "content": [_text("This follows "),
                                                         _text("the earlier incident", [_link(follows)]), _text(".")]})
    return {"type": "doc", "version": 1, "content": content}


def _paragraph(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(nodes)}


def _text(text: str, marks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": re.sub(r"\s+", " ", text) or " "}  # one line; edge spaces kept
    if marks:
        node["marks"] = marks
    return node


def _link(url: str) -> dict[str, Any]:
    return {"type": "link", "attrs": {"href": url}}


def _safe_url(url: str) -> bool:
    """An http(s) address with nothing that ends a link in either format."""
    return bool(re.fullmatch(r"https?://[^\s<>\"|\[\]{}]+", url))


def wiki(note: Note, follows: str | None = None) -> str:
    """A note as Jira wiki markup; links only to http(s) addresses."""
    parts = [wiki_text(p) for p in note.paragraphs if p.strip()]
    for heading, lines in note.bullets:
        if lines:
            parts.append(f"*{wiki_text(heading)}*\n" + "\n".join(f"* {wiki_text(line)}" for line in lines if line.strip()))
    links = [f"[{wiki_text(words)}|{url}]" for words, url in note.links if _safe_url(url) and words.strip()]
    if links:
        parts.append(" · ".join(links))
    if follows and _safe_url(follows):
        parts.append(f"This follows [the earlier incident|{follows}].")
    return "\n\n".join(parts)


def wiki_text(text: str) -> str:
    """Plain text as wiki markup that shows exactly that text on one line."""
    escaped = _WIKI_MARKUP.sub(lambda m: "&#92;" if m.group(1) == "\\" else "\\" + m.group(1), " ".join(text.split()))
    return _LINE_START.sub(r"\1\\.", escaped)
