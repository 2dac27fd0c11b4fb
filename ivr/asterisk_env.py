"""The sandbox Asterisk configured from the IVR's own settings, so both agree on ports
and the AMI secret."""

from __future__ import annotations

from ivr.asterisk.sandbox import AsteriskSandbox
from ivr.config import Settings


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
    )
    if settings.sip_password.get_secret_value():
        sandbox.sip_password = settings.sip_password.get_secret_value()
    return sandbox
