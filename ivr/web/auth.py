"""Agent sessions for the screen-pop page.

An agent logs in with their id and the token from the config. The session cookie is
``<agent id>.<HMAC of the id keyed with the agent's token>``: the server keeps no
session table, so a session survives an IVR restart, and changing an agent's token
in the config ends their sessions.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from ivr.config import AgentSettings

COOKIE = "pln123_agent"
_PURPOSE = b"pln123 screen-pop session:"


def _signature(agent_id: str, agent: AgentSettings) -> str:
    key = agent.token.get_secret_value().encode()
    return hmac.new(key, _PURPOSE + agent_id.encode(), hashlib.sha256).hexdigest()


def check_login(agents: Mapping[str, AgentSettings], agent_id: str, token: str) -> bool:
    """True when ``token`` is this agent's (compared in constant time)."""
    agent = agents.get(agent_id)
    if agent is None or not agent.token.get_secret_value():
        return False
    return hmac.compare_digest(agent.token.get_secret_value().encode(), token.encode())


def session_cookie(agents: Mapping[str, AgentSettings], agent_id: str) -> str:
    """The cookie value for a logged-in agent."""
    return f"{agent_id}.{_signature(agent_id, agents[agent_id])}"


def agent_of_cookie(agents: Mapping[str, AgentSettings], cookie: str | None) -> str | None:
    """The agent a cookie belongs to, or None when it is missing, forged or stale."""
    if not cookie:
        return None
    agent_id, _, signature = cookie.rpartition(".")
    agent = agents.get(agent_id)
    if agent is None or not agent.token.get_secret_value():
        return None
    if not hmac.compare_digest(signature, _signature(agent_id, agent)):
        return None
    return agent_id
