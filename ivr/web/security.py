"""What the web pages refuse to start without, and what every response carries.

- :func:`check_start`: every agent and ops token at least :data:`MIN_TOKEN_LENGTH`
  characters, and ``[web] tls_cert`` / ``tls_key`` both or neither, both readable.
  Refusals are :class:`WebConfigError`, which ``pln123 serve`` prints and exits with
  status 2 on.
- :func:`set_headers`: the Content-Security-Policy (scripts, styles and everything else
  from this site only, no inline script, no framing), ``X-Frame-Options: DENY``,
  ``Referrer-Policy: no-referrer`` (``same-origin`` on the pages with forms:
  :data:`FORM_PAGE`), ``X-Content-Type-Options: nosniff``, and HSTS over TLS.
- :func:`is_secure`, :func:`client_address`: TLS and the client's address, directly or
  as a trusted TLS proxy (``[web] behind_tls_proxy``) says.
- :func:`login_origin_ok`: a login POST from another site's page is refused.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import click
from aiohttp import web
from pydantic import SecretStr

from ivr.config import WebSettings

#: Shortest token a user may log in with.
MIN_TOKEN_LENGTH = 16

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
HSTS = "max-age=31536000"
#: The pages that POST forms to us (the logins, the pages' "Keluar" buttons) say
#: ``same-origin`` instead: under ``no-referrer`` a browser sends ``Origin: null`` with
#: a form's POST, which :func:`login_origin_ok` must refuse (another site's page can send
#: the same). ``same-origin`` still gives no other site a referrer.
FORM_PAGE = {"Referrer-Policy": "same-origin"}


class WebConfigError(click.ClickException):
    """The web pages cannot start with this configuration (exit status 2)."""

    exit_code = 2


class _User(Protocol):
    @property
    def token(self) -> SecretStr: ...


def token_problems(agents: Mapping[str, _User], ops: Mapping[str, _User]) -> list[str]:
    """One line per user whose token is too short."""
    problems = []
    for section, users in (("agents", agents), ("ops", ops)):
        for user_id, user in users.items():
            length = len(user.token.get_secret_value())
            if length < MIN_TOKEN_LENGTH:
                problems.append(
                    f"[{section}.{user_id}] token is {length} characters;"
                    f" at least {MIN_TOKEN_LENGTH} are needed"
                )
    return problems


def ssl_context(web_settings: WebSettings) -> ssl.SSLContext | None:
    """The server's TLS context from ``[web] tls_cert`` and ``tls_key`` (None: plain
    HTTP).

    :raises WebConfigError: one of the two alone, a file missing or not a matching
        PEM certificate and key.
    """
    cert, key = web_settings.tls_cert, web_settings.tls_key
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        given, missing = ("tls_cert", "tls_key") if key is None else ("tls_key", "tls_cert")
        raise WebConfigError(
            f"refusing to start the web pages: [web] {given} is set but {missing} is not;"
            " set both for HTTPS, or neither"
        )
    for name, path in (("tls_cert", cert), ("tls_key", key)):
        if not Path(path).is_file():
            raise WebConfigError(
                f"refusing to start the web pages: [web] {name} {path}: no such file"
            )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        raise WebConfigError(
            f"refusing to start the web pages: [web] tls_cert {cert} / tls_key {key}: {exc}"
        ) from exc
    return context


def check_start(
    web_settings: WebSettings, agents: Mapping[str, _User], ops: Mapping[str, _User]
) -> ssl.SSLContext | None:
    """Refuse short tokens and half a TLS setup; the TLS context (None: plain HTTP).

    :raises WebConfigError: with every problem named.
    """
    problems = token_problems(agents, ops)
    if problems:
        raise WebConfigError(
            "refusing to start the web pages, tokens too short:\n"
            + "\n".join(f"  {p}" for p in problems)
            + '\n  generate one: python3 -c "import secrets; print(secrets.token_urlsafe(24))"'
        )
    return ssl_context(web_settings)


def is_secure(request: web.Request, behind_tls_proxy: bool) -> bool:
    """Whether the client reached us over TLS: directly, or as the trusted proxy says."""
    if request.transport is not None and request.transport.get_extra_info("sslcontext"):
        return True
    if behind_tls_proxy:
        proto = request.headers.get("X-Forwarded-Proto", "")
        return proto.split(",")[0].strip().lower() == "https"
    return False


def client_address(request: web.Request, behind_tls_proxy: bool) -> str:
    """The client's address: the peer, or behind the trusted proxy the last entry of
    ``X-Forwarded-For`` (the address the proxy itself saw; earlier ones are the
    client's say and could be forged)."""
    if behind_tls_proxy:
        forwarded = request.headers.get("X-Forwarded-For", "")
        last = forwarded.split(",")[-1].strip()
        if last:
            return last[:64]
    return request.remote or "?"


def _host_of(url: str) -> str | None:
    try:
        return urlsplit(url).netloc.lower() or None
    except ValueError:
        return None


def login_origin_ok(request: web.Request) -> bool:
    """Whether a login (or logout) POST may come from where it says it does.

    A browser sends ``Origin`` with every POST: it must be this site (``null``, as a
    sandboxed frame or a redirect sends it, is refused). Without Origin, a ``Referer``
    must be this site when present. With neither, the request is a tool's (curl, a
    script), not another site's page acting through a user's browser, and is let
    through to the token check and the throttle.
    """
    host = request.host.lower()
    origin = request.headers.get("Origin")
    if origin is not None:
        return _host_of(origin) == host
    referer = request.headers.get("Referer")
    if referer is not None:
        return _host_of(referer) == host
    return True


def set_headers(response: web.StreamResponse, secure: bool) -> None:
    """Put the security headers on a response (kept where a handler set its own)."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
