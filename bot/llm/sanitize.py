"""Make model-written text safe to post on GitHub.

What the model writes ends up in a review comment that people and other bots read, so:
- no line may start a bot command (`/approve`, `/dbreview …`): such a token is put in backticks;
- no @mention may notify anyone: `@name`, `@org/team` (and Prisma's `@db.Uuid`, `@@index(...)`, which GitHub would
  also treat as mentions) are put in backticks;
- no HTML: comments are removed (they could forge dbreview's own markers), tags are escaped;
- no links to hosts other than GitHub (markdown links keep their label, bare URLs and e-mail addresses are removed);
- no invisible or bidirectional-control characters.
Code spans and fenced blocks keep their text (GitHub does not link or mention inside them), except HTML comment
openers, which would still reach whoever parses the raw body.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
_HTML_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_MD_LINK = re.compile(r"(!?)\[([^\]\n]*)\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'][^\"'\n]*[\"'])?\s*\)")
_URL = re.compile(r"\b(?:https?|ftp|file|javascript|data)://[^\s<>()\[\]`'\"]+|(?<![\w./@-])www\.[^\s<>()\[\]`'\"]+",
                  re.I)
_EMAIL = re.compile(r"\b[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\b")
_MENTION = re.compile(r"(?<![\w`])@{1,2}[A-Za-z0-9][\w-]*(?:[./][\w-]+)*(?:\([^()\n]*\))?")
_COMMAND_LINE = re.compile(r"^(\s*)(/\w\S*)")
_ALLOWED_HOSTS = ("github.com",)
REMOVED_LINK = "(link removed)"


def is_allowed_url(url: str) -> bool:
    candidate = url if "://" in url else f"https://{url}"
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() not in ("http", "https"):
        return False
    return any(host == allowed or host.endswith("." + allowed) for allowed in _ALLOWED_HOSTS)


def strip_invisible(text: str) -> str:
    """Drop format characters (zero-width, bidi controls, BOM) and control characters other than tab and newline."""
    out = []
    for ch in text:
        if ch in "\n\t":
            out.append(ch)
            continue
        category = unicodedata.category(ch)
        if category in ("Cf", "Cc", "Co", "Cs"):
            continue
        out.append(ch)
    return "".join(out)


def _prose(segment: str) -> str:
    segment = _HTML_COMMENT.sub("", segment)
    segment = segment.replace("-->", "-- >")
    segment = _HTML_TAG_START.sub("&lt;", segment)

    def link(match: re.Match[str]) -> str:
        label, url = match.group(2), match.group(3)
        if match.group(1) or not is_allowed_url(url):
            return label
        return match.group(0)

    segment = _MD_LINK.sub(link, segment)
    segment = _URL.sub(_bare_url, segment)
    segment = _EMAIL.sub("(address removed)", segment)
    return _MENTION.sub(lambda m: f"`{m.group(0)}`", segment)


def _bare_url(match: re.Match[str]) -> str:
    url = match.group(0)
    trailing = re.search(r"[.,:;!?*_~]+$", url)
    tail = trailing.group(0) if trailing else ""
    url = url[: len(url) - len(tail)]
    return (url if is_allowed_url(url) else REMOVED_LINK) + tail


def _code(segment: str) -> str:
    return segment.replace("<!--", "<! --").replace("-->", "-- >")


def _prose_with_inline_code(text: str) -> str:
    out: list[str] = []
    pos = 0
    for match in _INLINE_CODE.finditer(text):
        out.append(_prose(text[pos:match.start()]))
        out.append(_code(match.group(0)))
        pos = match.end()
    out.append(_prose(text[pos:]))
    return "".join(out)


def sanitize_markdown(text: str) -> str:
    """The model's Markdown, safe to post (see the module docstring)."""
    text = strip_invisible(text.replace("\r\n", "\n").replace("\r", "\n"))
    blocks: list[tuple[bool, list[str]]] = []  # (is_code, lines)
    fence: str | None = None
    for line in text.split("\n"):
        opener = _FENCE.match(line)
        if fence is None and opener:
            fence = opener.group(1)[0] * 3
            blocks.append((True, [line]))
            continue
        if fence is not None:
            blocks[-1][1].append(line)
            if line.strip().startswith(fence) and len(blocks[-1][1]) > 1:
                fence = None
            continue
        if not blocks or blocks[-1][0]:
            blocks.append((False, []))
        blocks[-1][1].append(line)
    out: list[str] = []
    for is_code, lines in blocks:
        if is_code:
            out.extend(_neutralise_command(_code(line), in_code=True) for line in lines)
        else:
            cleaned = _prose_with_inline_code("\n".join(lines)).split("\n")
            out.extend(_neutralise_command(line, in_code=False) for line in cleaned)
    return "\n".join(out).strip()


def _neutralise_command(line: str, *, in_code: bool) -> str:
    match = _COMMAND_LINE.match(line)
    if match is None:
        return line
    if in_code:
        # Code keeps its meaning for a reader; a look-alike slash stops it from being read as a command.
        return f"{match.group(1)}\u2215{line[len(match.group(1)) + 1:]}"
    return f"{match.group(1)}`{match.group(2)}`{line[match.end():]}"


def sanitize_line(text: str) -> str:
    """A one-line field (a title): Markdown-safe and on one line."""
    return " ".join(sanitize_markdown(text).split())


def safe_suggestion(replacement: str) -> str | None:
    """A suggested replacement is code posted verbatim in a suggestion block: refuse rather than alter it."""
    if strip_invisible(replacement) != replacement.replace("\r", ""):
        return None
    if "<!--" in replacement or "-->" in replacement or "```" in replacement:
        return None
    if any(_COMMAND_LINE.match(line) for line in replacement.splitlines()):
        return None
    return replacement


def is_safe(text: str) -> bool:
    """Whether text already passes the posting rules (sanitising it changes nothing)."""
    return sanitize_markdown(text) == text.strip()


_FILLERS = frozenset("\u3164\u115f\u1160\uffa0\u2800")


def escape_invisible(text: str) -> str:
    """Show hidden characters in text we send to the model as `<U+202E>`: nothing reaches it that a reviewer
    cannot see (tag characters can smuggle whole instructions)."""
    if text.isascii():
        return text
    return "".join(f"<U+{ord(ch):04X}>" if unicodedata.category(ch) == "Cf" or ch in _FILLERS else ch for ch in text)
