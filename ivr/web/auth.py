"""Sessions for the web pages: CSOs (the screen-pop page) and ops (the ops page).

A user logs in with their id and the token from the config (``[agents.<id>]`` or
``[ops.<id>]``). The session cookie is ``<id>.<HMAC of the id keyed with the user's
token>``: the server keeps no session table, so a session survives an IVR restart, and
changing a user's token in the config ends their sessions.

Each role has a cookie name and an HMAC purpose of its own, so an agent's cookie never
opens the ops page and an ops cookie never opens the agent page or takes calls, even
for an id and token configured under both.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from pydantic import SecretStr

from ivr.config import AgentSettings, OpsSettings


class _User(Protocol):
    @property
    def token(self) -> SecretStr: ...


@dataclass(frozen=True)
class Role:
    """One kind of login: its cookie's name and its signature's purpose."""

    cookie: str
    purpose: bytes

    def _signature(self, user_id: str, user: _User) -> str:
        key = user.token.get_secret_value().encode()
        return hmac.new(key, self.purpose + user_id.encode(), hashlib.sha256).hexdigest()

    def check_login(self, users: Mapping[str, _User], user_id: str, token: str) -> bool:
        """True when ``token`` is this user's (compared in constant time)."""
        user = users.get(user_id)
        if user is None or not user.token.get_secret_value():
            return False
        return hmac.compare_digest(user.token.get_secret_value().encode(), token.encode())

    def session_cookie(self, users: Mapping[str, _User], user_id: str) -> str:
        """The cookie value for a logged-in user."""
        return f"{user_id}.{self._signature(user_id, users[user_id])}"

    def user_of_cookie(self, users: Mapping[str, _User], cookie: str | None) -> str | None:
        """The user a cookie belongs to, or None when it is missing, forged or stale."""
        if not cookie:
            return None
        user_id, _, signature = cookie.rpartition(".")
        user = users.get(user_id)
        if user is None or not user.token.get_secret_value():
            return None
        if not hmac.compare_digest(signature, self._signature(user_id, user)):
            return None
        return user_id


AGENT = Role("pln123_agent", b"pln123 screen-pop session:")
OPS = Role("pln123_ops", b"pln123 ops page session:")

COOKIE = AGENT.cookie
OPS_COOKIE = OPS.cookie


def same_origin(origin: str | None, host: str) -> bool:
    """Whether a request's ``Origin`` header is this site (``host`` as the request named
    it). Browsers send Origin on WebSockets and POSTs; tools may not, and a request
    without it is let through: the ``SameSite=Strict`` cookies keep other sites' pages
    from acting in a user's name, and Origin is checked on top where a browser gives it.
    """
    return origin is None or origin.split("://", 1)[-1] == host


def check_login(agents: Mapping[str, AgentSettings], agent_id: str, token: str) -> bool:
    """True when ``token`` is this agent's (compared in constant time)."""
    return AGENT.check_login(agents, agent_id, token)


def session_cookie(agents: Mapping[str, AgentSettings], agent_id: str) -> str:
    """The cookie value for a logged-in agent."""
    return AGENT.session_cookie(agents, agent_id)


def agent_of_cookie(agents: Mapping[str, AgentSettings], cookie: str | None) -> str | None:
    """The agent a cookie belongs to, or None when it is missing, forged or stale."""
    return AGENT.user_of_cookie(agents, cookie)


def check_ops_login(ops: Mapping[str, OpsSettings], user_id: str, token: str) -> bool:
    """True when ``token`` is this ops user's."""
    return OPS.check_login(ops, user_id, token)


def ops_session_cookie(ops: Mapping[str, OpsSettings], user_id: str) -> str:
    """The cookie value for a logged-in ops user."""
    return OPS.session_cookie(ops, user_id)


def ops_of_cookie(ops: Mapping[str, OpsSettings], cookie: str | None) -> str | None:
    """The ops user a cookie belongs to, or None."""
    return OPS.user_of_cookie(ops, cookie)
