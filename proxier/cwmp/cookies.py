"""Session cookies for one CWMP session (TR-069 §3.4.2, RFC 2965 incl. its §9.1).

Sans-IO: feed it the Set-Cookie / Set-Cookie2 header values of each ACS response, ask it
for the Cookie headers of the next POST. Why not aiohttp's CookieJar: it ignores
Set-Cookie2 and never sends the `$Version="1"` form that RFC 2965 ACSes expect (see the seed
trace), and TR-069 wants cookies sent to a redirected ACS without domain checks.

Rules kept here:
- old-style ("Netscape", RFC 6265) cookies are echoed as `name=value`, and the request also
  carries `Cookie2: $Version="1"` (RFC 2965 §9.1);
- new-style cookies (Set-Cookie2, or Set-Cookie with a Version attribute, RFC 2109) are
  echoed as `$Version="1"; name="value"; $Path="…"` with $Path/$Domain/$Port only when the
  server gave them;
- a Set-Cookie2 beats a Set-Cookie for the same cookie; a repeated cookie replaces the old
  one (never duplicated); Max-Age=0 or a past Expires deletes it;
- every cookie of the session goes on every request of the session, whatever its Path or
  Domain: the jar lives for one session with one ACS (§3.4.5 redirect rule, and the
  GenieACS "Invalid session" reports caused by path-scoped cookies).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: Storage bounds: TR-069 §3.4.2 asks for at least 512 bytes; a hostile ACS gets no more.
MAX_COOKIES = 32
MAX_COOKIE_BYTES = 4096


@dataclass(frozen=True, slots=True)
class Cookie:
    name: str
    value: str
    version: int = 0
    path: str | None = None
    domain: str | None = None
    port: str | None = None

    @property
    def key(self) -> tuple[str, str | None, str | None]:
        return (self.name, self.domain, self.path)


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
            continue
        if char == "\\" and quoted:
            escaped = True
            current.append(char)
            continue
        if char == '"':
            quoted = not quoted
        if char == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner = value[1:-1]
        out: list[str] = []
        i = 0
        while i < len(inner):
            if inner[i] == "\\" and i + 1 < len(inner):
                i += 1
            out.append(inner[i])
            i += 1
        return "".join(out)
    return value


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_cookie(text: str, *, new_style_header: bool) -> tuple[Cookie, bool] | None:
    """Parse one cookie; return it and whether it asks for deletion, or None if malformed."""
    pieces = _split_outside_quotes(text, ";")
    name, sep, raw_value = pieces[0].partition("=")
    name = name.strip()
    if not sep or not name or name.startswith("$"):
        return None
    attrs: dict[str, str] = {}
    for piece in pieces[1:]:
        key, _, value = piece.partition("=")
        attrs[key.strip().lower()] = _unquote(value)
    version = 0
    if "version" in attrs:
        try:
            version = max(1, int(attrs["version"]))
        except ValueError:
            version = 1
    elif new_style_header:
        return None  # RFC 2965 §3.2.2: Version is required in Set-Cookie2
    value = _unquote(raw_value) if version else raw_value.strip()
    delete = False
    if "max-age" in attrs:
        try:
            delete = int(attrs["max-age"]) <= 0
        except ValueError:
            pass
    elif "expires" in attrs:
        try:
            expires = parsedate_to_datetime(attrs["expires"])
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=UTC)
            delete = expires <= datetime.now(UTC)
        except (TypeError, ValueError, IndexError):
            pass
    cookie = Cookie(
        name=name,
        value=value,
        version=version,
        path=attrs.get("path") or None,
        domain=attrs.get("domain") or None,
        port=attrs.get("port") if version and "port" in attrs else None,
    )
    return cookie, delete


class SessionCookieJar:
    """The cookies of one CWMP session (forgotten by `clear()` when the session ends)."""

    def __init__(self) -> None:
        self._cookies: dict[tuple[str, str | None, str | None], Cookie] = {}

    def __len__(self) -> int:
        return len(self._cookies)

    def clear(self) -> None:
        self._cookies.clear()

    def update(self, set_cookie: list[str], set_cookie2: list[str]) -> None:
        """Take in one response's Set-Cookie and Set-Cookie2 header values."""
        new_style: list[tuple[Cookie, bool]] = []
        for header in set_cookie2:
            for item in _split_outside_quotes(header, ","):
                parsed = parse_cookie(item, new_style_header=True)
                if parsed is not None:
                    new_style.append(parsed)
        names2 = {cookie.name for cookie, _ in new_style}
        for header in set_cookie:
            parsed = parse_cookie(header, new_style_header=False)
            # RFC 2965 §9.1: Set-Cookie2 wins over Set-Cookie for the same cookie
            if parsed is not None and parsed[0].name not in names2:
                self._store(*parsed)
        for cookie, delete in new_style:
            # a new-style cookie replaces an equivalent old-style one
            for key, old in list(self._cookies.items()):
                if old.name == cookie.name and old.version == 0:
                    del self._cookies[key]
            self._store(cookie, delete)

    def _store(self, cookie: Cookie, delete: bool) -> None:
        if delete:
            self._cookies.pop(cookie.key, None)
            return
        self._cookies.pop(cookie.key, None)
        self._cookies[cookie.key] = cookie
        size = sum(len(c.name) + len(c.value) for c in self._cookies.values())
        while len(self._cookies) > MAX_COOKIES or size > MAX_COOKIE_BYTES:
            oldest = next(iter(self._cookies))
            gone = self._cookies.pop(oldest)
            size -= len(gone.name) + len(gone.value)

    def headers(self) -> dict[str, str]:
        """Cookie (and Cookie2) request headers for the next request; {} when empty."""
        if not self._cookies:
            return {}
        cookies = sorted(self._cookies.values(), key=lambda c: -len(c.path or ""))
        parts: list[str] = []
        version = max(c.version for c in cookies)
        if version:
            parts.append(f'$Version="{version}"')
        for cookie in cookies:
            if cookie.version:
                parts.append(f"{cookie.name}={_quote(cookie.value)}")
                if cookie.path is not None:
                    parts.append(f"$Path={_quote(cookie.path)}")
                if cookie.domain is not None:
                    parts.append(f"$Domain={_quote(cookie.domain)}")
                if cookie.port is not None:
                    parts.append(f"$Port={_quote(cookie.port)}")
            else:
                parts.append(f"{cookie.name}={cookie.value}")
        headers = {"Cookie": "; ".join(parts)}
        if any(c.version == 0 for c in cookies):
            headers["Cookie2"] = '$Version="1"'
        return headers
