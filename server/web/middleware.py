"""What every request passes through: security headers, same-origin posts, one session cookie
and the post limit per person."""

from __future__ import annotations

from collections import OrderedDict

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.access.links import SESSION_COOKIE
from server.access.sessions import AmbiguousSession, session_cookie, verified_person
from server.web.rate import RateLimit


class SameOriginPosts:
    """Form posts must come from our own pages: refuse a cross-site POST (CSRF)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            headers = dict(scope["headers"])
            site = headers.get(b"sec-fetch-site", b"").decode()
            origin = headers.get(b"origin", b"").decode()
            host = headers.get(b"host", b"").decode()
            # A browser's own word (Sec-Fetch-Site) decides when it gives one: a plain form
            # posted from our page under `Referrer-Policy: no-referrer` says `Origin: null`.
            if site:
                cross = site == "cross-site"
            else:
                cross = bool(origin) and (origin == "null" or origin.split("://", 1)[-1] != host)
            if cross:
                response = PlainTextResponse("Cross-site form posts are refused.", 403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


POST_RATE = 10.0  # form posts per second a person may send, sustained


POST_BURST = 60.0  # and at once: a page resending its queue after a drop fits


POST_KEYS = 20000  # people and addresses remembered; the oldest are forgotten first


class SessionGuard:
    """Every request carries at most one session cookie (several are refused: which would speak
    for it?), and form posts are limited per person whose session verifies, per address for
    anyone else: a script hammering the server gets 429 and waits, however it dresses its
    cookies, and cannot crowd out everyone else's posts. Pages resend 429s later by themselves
    (durable.js)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.buckets: OrderedDict[str, RateLimit] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            cookie = session_cookie(scope["headers"])
        except AmbiguousSession:
            response = PlainTextResponse(
                "This request carried two sessions for this site, so it was refused. Open your "
                "personal link again to sign in.",
                400,
            )
            response.delete_cookie(SESSION_COOKIE)
            await response(scope, receive, send)
            return
        if scope["method"] == "POST" and not self._allow(scope, cookie):
            response = PlainTextResponse(
                "Too many requests from this page; wait a moment and try again.",
                429,
                headers={"retry-after": "1"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _allow(self, scope: Scope, cookie: str | None) -> bool:
        signer = getattr(scope["app"].state, "signer", None)
        person = verified_person(signer, cookie) if signer is not None else None
        client = scope.get("client")
        key = "p:" + person if person else "a:" + str(client[0] if client else "?")
        bucket = self.buckets.pop(key, None) or RateLimit(POST_RATE, POST_BURST)
        self.buckets[key] = bucket
        while len(self.buckets) > POST_KEYS:
            self.buckets.popitem(last=False)
        return bucket.allow()


# htmx 4 runs under this policy: no inline scripts or styles, no eval (we use no hx-on or js:
# values), and its indicator stylesheet is turned off in base.html.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # Join links carry a token in the path: never leak a page address to another site.
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(self), microphone=(self), geolocation=()"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)
