"""The sandbox Asterisk configured from the IVR's own settings, so both agree on ports
and the AMI secret."""

from __future__ import annotations

import json
import os

from ivr.config import Settings
from ivr.tools.sandbox import AsteriskSandbox


class MissingSecret(ValueError):
    """The AMI secret is not configured."""


def sandbox_from_settings(settings: Settings) -> AsteriskSandbox:
    """A sandbox whose dialplan calls this IVR and whose AMI takes this IVR's secret."""
    secret = settings.ami.secret.get_secret_value()
    if not secret:
        raise MissingSecret(
            "no AMI secret: set PLN123_AMI__SECRET, or [ami] secret in pln123.toml "
            "(scripts/setup.sh writes one)"
        )
    sandbox = AsteriskSandbox(
        agi_host=settings.agi.host,
        agi_port=settings.agi.port,
        callerbot_port=settings.agi.callerbot_port,
        ami_port=settings.ami.port,
        ami_user=settings.ami.user,
        ami_secret=secret,
        sip_port=settings.sip_port,
        audio_dir=settings.audio_dir,
        queue_max_wait=settings.queue_max_wait,
    )
    if settings.sip_password.get_secret_value():
        sandbox.sip_password = settings.sip_password.get_secret_value()
    return sandbox


def serve_env(settings: Settings, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment that makes a ``pln123 serve`` child read these settings (ports,
    secret, files, the pages, their agents and ops users), on top of ``base`` (default: this
    process's environment without any ``PLN123_`` variable and without a config file).
    """
    env = {k: v for k, v in (os.environ if base is None else base).items()}
    env = {k: v for k, v in env.items() if not k.startswith("PLN123_")}
    env.update(
        PLN123_CONFIG="",
        PLN123_AGI__PORT=str(settings.agi.port),
        PLN123_AGI__CALLERBOT_PORT=str(settings.agi.callerbot_port),
        # Scenarios at a fixed moment (``at:``) play as real calls in the sandbox.
        PLN123_AGI__TEST_CLOCK="true",
        PLN123_AMI__PORT=str(settings.ami.port),
        PLN123_AMI__SECRET=settings.ami.secret.get_secret_value(),
        PLN123_WEB__PORT=str(settings.web.port),
        PLN123_DB_PATH=str(settings.db_path),
        PLN123_FLOWS_DIR=str(settings.flows_dir),
        PLN123_AUDIO_DIR=str(settings.audio_dir),
        PLN123_QUEUE_MAX_WAIT=str(settings.queue_max_wait),
        PLN123_AGENTS=json.dumps(
            {
                agent_id: {**agent.model_dump(), "token": agent.token.get_secret_value()}
                for agent_id, agent in settings.agents.items()
            }
        ),
        PLN123_OPS=json.dumps(
            {
                user_id: {**user.model_dump(), "token": user.token.get_secret_value()}
                for user_id, user in settings.ops.items()
            }
        ),
    )
    if settings.store.postgres:
        env["PLN123_STORE__URL"] = settings.store.url.get_secret_value()
    return env
