"""Logins and sessions of the web pages: CSOs (the screen-pop page) and ops (the ops page).

A user logs in with their id and the token from the config (``[agents.<id>]`` or
``[ops.<id>]``). A login makes a server-side session (:class:`SessionStore`): the cookie
holds only its random id. A session ends at logout, after ``[web] session_max_age``
seconds, after ``session_idle_timeout`` seconds without a request (an open page's feed
or polling counts), when the user's token changes or the user leaves the config, and at
an IVR restart (sessions live in the web process's memory).

Each role has a cookie name of its own and a session belongs to one role, so an agent's
cookie never opens the ops page and an ops cookie never opens the agent page or takes
calls, even for an id and token configured under both.

Wrong logins are throttled (:class:`LoginThrottle`) per source address and per account.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import math
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import SecretStr

log = logging.getLogger(__name__)


class _User(Protocol):
    @property
    def token(self) -> SecretStr: ...


@dataclass(frozen=True)
class Role:
    """One kind of login: its cookie's name, and what its logs call it."""

    cookie: str
    name: str

    def check_login(self, users: Mapping[str, _User], user_id: str, token: str) -> bool:
        """True when ``token`` is this user's (compared in constant time)."""
        user = users.get(user_id)
        if user is None or not user.token.get_secret_value():
            return False
        return hmac.compare_digest(user.token.get_secret_value().encode(), token.encode())


AGENT = Role("pln123_agent", "screen-pop")
OPS = Role("pln123_ops", "ops page")

COOKIE = AGENT.cookie
OPS_COOKIE = OPS.cookie

#: What a session id looks like (``secrets.token_urlsafe(32)``); anything else in the
#: cookie is not looked up at all.
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")


def same_origin(origin: str | None, host: str) -> bool:
    """Whether a request's ``Origin`` header is this site (``host`` as the request named
    it). Browsers send Origin on WebSockets and POSTs; tools may not, and a request
    without it is let through: the ``SameSite=Strict`` cookies keep other sites' pages
    from acting in a user's name, and Origin is checked on top where a browser gives it.
    """
    return origin is None or origin.split("://", 1)[-1] == host


def check_login(agents: Mapping[str, _User], agent_id: str, token: str) -> bool:
    """True when ``token`` is this agent's (compared in constant time)."""
    return AGENT.check_login(agents, agent_id, token)


def check_ops_login(ops: Mapping[str, _User], user_id: str, token: str) -> bool:
    """True when ``token`` is this ops user's."""
    return OPS.check_login(ops, user_id, token)


def _fingerprint(user: _User) -> bytes:
    """A digest of the user's token: a session made with another token is over."""
    return hashlib.sha256(user.token.get_secret_value().encode()).digest()


@dataclass
class Session:
    """One login."""

    role: Role
    user_id: str
    issued: float
    last_seen: float
    fingerprint: bytes
    #: Set when the session ends by logout (open feeds close at once).
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class SessionStore:
    """Sessions of the web process, in memory: a restart logs everyone out.

    ``clock`` is epoch seconds now (tests pass their own).
    """

    def __init__(
        self,
        max_age: float,
        idle_timeout: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_age = max_age
        self.idle_timeout = idle_timeout
        self.clock = clock
        self._sessions: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, role: Role, users: Mapping[str, _User], user_id: str) -> str:
        """A new session for a user who just logged in; its id (the cookie value)."""
        self._prune()
        now = self.clock()
        session_id = secrets.token_urlsafe(32)
        self._sessions[session_id] = Session(role, user_id, now, now, _fingerprint(users[user_id]))
        return session_id

    def user_of(
        self,
        role: Role,
        users: Mapping[str, _User],
        cookie: str | None,
        *,
        touch: bool = True,
    ) -> str | None:
        """The user of a live session of ``role`` named by ``cookie``, or None (missing,
        malformed, unknown, another role's, expired, idle, revoked, or the user's token
        changed). ``touch``: this request counts as activity."""
        session = self.session(role, users, cookie)
        if session is None:
            return None
        if touch:
            session.last_seen = self.clock()
        return session.user_id

    def session(self, role: Role, users: Mapping[str, _User], cookie: str | None) -> Session | None:
        """The live session, as :meth:`user_of` finds it (not touched)."""
        if not cookie or not _SESSION_ID.match(cookie):
            return None
        session = self._sessions.get(cookie)
        if session is None or session.role != role:
            return None
        user = users.get(session.user_id)
        now = self.clock()
        if (
            user is None
            or not hmac.compare_digest(session.fingerprint, _fingerprint(user))
            or now - session.issued >= self.max_age
            or now - session.last_seen >= self.idle_timeout
        ):
            self._end(cookie)
            return None
        return session

    def revoke(self, cookie: str | None) -> bool:
        """End a session (logout); True when there was one."""
        if not cookie or cookie not in self._sessions:
            return False
        self._end(cookie)
        return True

    def _end(self, session_id: str) -> None:
        session = self._sessions.pop(session_id, None)
        if session is not None:
            session.ended.set()

    def _prune(self) -> None:
        """Forget expired and idle sessions."""
        now = self.clock()
        stale = [
            key
            for key, s in self._sessions.items()
            if now - s.issued >= self.max_age or now - s.last_seen >= self.idle_timeout
        ]
        for key in stale:
            self._end(key)


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    locked: bool = False


class TokenBuckets:
    """One token bucket per key: ``burst`` tries free, then one per ``60 / per_minute``
    seconds. Only failures take a token; an empty bucket refuses until one is back. A
    lockout (logged once) lasts from the bucket running dry until it is full again."""

    #: Keys kept at most; full buckets are forgotten first (they hold no state).
    MAX_KEYS = 10_000

    def __init__(self, burst: int, per_minute: float) -> None:
        self.burst = burst
        self.per_second = per_minute / 60.0
        self._buckets: dict[str, _Bucket] = {}

    def _level(self, key: str, now: float) -> _Bucket | None:
        bucket = self._buckets.get(key)
        if bucket is None:
            return None
        bucket.tokens = min(
            float(self.burst), bucket.tokens + (now - bucket.stamp) * self.per_second
        )
        bucket.stamp = now
        if bucket.tokens >= self.burst:  # the lockout is over once the bucket is full
            bucket.locked = False
        return bucket

    def wait(self, key: str, now: float) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        bucket = self._level(key, now)
        if bucket is None or bucket.tokens >= 1.0:
            return 0.0
        return (1.0 - bucket.tokens) / self.per_second

    def fail(self, key: str, now: float) -> bool:
        """Take a token for a failure; True when this failure starts a lockout."""
        bucket = self._level(key, now)
        if bucket is None:
            if len(self._buckets) >= self.MAX_KEYS:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = max(0.0, bucket.tokens - 1.0)
        if bucket.tokens < 1.0 and not bucket.locked:
            bucket.locked = True
            return True
        return False

    def _forget_full(self, now: float) -> None:
        for key in list(self._buckets):
            bucket = self._level(key, now)
            if bucket is not None and bucket.tokens >= self.burst:
                del self._buckets[key]
        while len(self._buckets) >= self.MAX_KEYS:  # still full: drop the oldest
            del self._buckets[next(iter(self._buckets))]


class LoginThrottle:
    """Wrong logins, per source address and per account (role and id)."""

    def __init__(
        self,
        address_burst: int,
        address_per_minute: float,
        account_burst: int,
        account_per_minute: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.addresses = TokenBuckets(address_burst, address_per_minute)
        self.accounts = TokenBuckets(account_burst, account_per_minute)
        self.clock = clock

    @staticmethod
    def _account(role: Role, user_id: str) -> str:
        return f"{role.cookie}:{user_id[:64]}"

    @staticmethod
    def address_key(address: str) -> str:
        """An IPv6 client counts by its /64 (one subscriber's usual share); IPv4 and
        anything else as it is."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return address
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.ipv4_mapped is not None:
                return str(ip.ipv4_mapped)
            return str(ipaddress.IPv6Network((ip, 64), strict=False))
        return str(ip)

    def retry_after(self, role: Role, address: str, user_id: str) -> int:
        """Whole seconds to wait before this login may be tried (0: try it now)."""
        now = self.clock()
        address = self.address_key(address)
        wait = max(
            self.addresses.wait(address, now),
            self.accounts.wait(self._account(role, user_id), now),
        )
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, role: Role, address: str, user_id: str) -> None:
        """Count a wrong login; a log line when it locks the address or the account."""
        now = self.clock()
        address = self.address_key(address)
        if self.addresses.fail(address, now):
            log.warning(
                "%s: too many wrong logins from %s: locked out for %.0f s",
                role.name,
                address,
                self.addresses.wait(address, now),
            )
        account = self._account(role, user_id)
        if self.accounts.fail(account, now):
            log.warning(
                "%s: too many wrong logins for id %r: locked out for %.0f s",
                role.name,
                user_id[:64],
                self.accounts.wait(account, now),
            )
