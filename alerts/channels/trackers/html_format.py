"""What a helpdesk shows: a note as HTML (Zendesk's html_body), every text escaped, links only to http(s) addresses.

The helpdesk sanitises what it is given as well; escaping here means an alert's text is shown, never interpreted,
whatever the helpdesk's sanitiser lets through.
"""
from __future__ import annotations

import re

from markupsafe import escape

from alerts.channels.trackers.base import Note


def html(note: Note, follows: str | None = None) -> str:
    parts = [f"<p>{_text(p)}</p>" for p in note.paragraphs if p.strip()]
    for heading, lines in note.bullets:
        if lines:
            items = "".join(f"<li>{_text(line)}</li>" for line in lines if line.strip())
            parts.append(f"<p><strong>{_text(heading)}</strong></p><ul>{items}</ul>")
    links = [_link(words, url) for words, url in note.links if _safe_url(url) and words.strip()]
    if links:
        parts.append("<p>" + " · ".join(links) + "</p>")
    if follows and _safe_url(follows):
        parts.append(f"<p>This follows {_link('the earlier incident', follows)}.</p>")
    return "\n".join(parts)


def _text(text: str) -> str:
    return str(escape(" ".join(text.split())))


def _link(words: str, url: str) -> str:
    return f'<a href="{escape(url)}">{_text(words)}</a>'


def _safe_url(url: str) -> bool:
    return bool(re.fullmatch(r"https?://[^\s<>\"']+", url))
