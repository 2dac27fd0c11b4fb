"""One settings model for the whole IVR.

Values come, highest priority first, from environment variables (``PLN123_...``,
nested fields with ``__``: ``PLN123_AMI__SECRET``), then from a TOML file (the path in
``PLN123_CONFIG``, else ``pln123.toml`` in the working directory when present; an
empty ``PLN123_CONFIG`` means no file at all), then
from the defaults below. Secrets never have a default that works: the AMI secret must
come from the environment or a config file kept outside git.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_ENV = "PLN123_CONFIG"
DEFAULT_CONFIG_FILE = "pln123.toml"


class AgiSettings(BaseModel):
    """The FastAGI listener."""

    host: str = "127.0.0.1"
    port: int = Field(4573, ge=0, le=65535)
    #: Source addresses allowed to connect; anyone else is refused with a log line.
    allow: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])
    #: Seconds to wait for the AGI header block after a connection opens.
    header_timeout: float = Field(5.0, gt=0)
    #: Seconds to wait for the answer to a command that does not itself wait for the
    #: caller (SET VARIABLE, ANSWER ...). Commands that wait for the caller get their
    #: own wait added on top.
    command_timeout: float = Field(10.0, gt=0)
    #: Longest prompt the IVR will wait for in one STREAM FILE, in seconds.
    max_prompt_seconds: float = Field(180.0, gt=0)
    #: On SIGTERM, calls in progress may run this many seconds before being cut.
    shutdown_grace: float = Field(30.0, ge=0)
    #: Most FastAGI connections open at once; one more is closed at once (Asterisk then
    #: runs its dialplan fallback to a CSO queue), a burst logged once. Keep it above the
    #: busiest hour's concurrent calls (``pln123 bench agi --hold 1000`` holds 1000).
    max_connections: int = Field(2000, ge=1)
    #: Emit AMI UserEvents at call start, at each listening point and at call end
    #: (monitoring; the real-call scenario runner needs them).
    listen_events: bool = True
    #: Port of the caller bot that ``pln123 scenario run --via asterisk`` serves.
    callerbot_port: int = Field(4574, ge=0, le=65535)
    #: Sandbox only: run each call at the moment its channel variable
    #: ``PLN123_TEST_AT`` names (ISO 8601 with an offset; a scenario's ``at:``), the
    #: clock then running on from there, so a scenario "on a holiday" or "on Sunday
    #: evening" plays as a real call any day. ``pln123 up`` and the end-to-end tests
    #: switch it on; leave it off in production.
    test_clock: bool = False


class AmiSettings(BaseModel):
    """The Asterisk Manager Interface, used by the test caller and the screen-pop."""

    host: str = "127.0.0.1"
    port: int = Field(5038, ge=0, le=65535)
    user: str = "pln123"
    secret: SecretStr = SecretStr("")
    connect_timeout: float = Field(10.0, gt=0)


class WebSettings(BaseModel):
    """The CSOs' screen-pop page, served by the IVR process on a port of its own."""

    #: Serve the page and watch AMI queue events (off: FastAGI only).
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8123, ge=0, le=65535)
    #: Pops an agent's page shows on opening (the current one and the recent ones).
    recent_pops: int = Field(20, ge=1, le=500)
    #: Only pops from the last this many hours are shown on opening.
    recent_hours: float = Field(12.0, gt=0)

    # Securing the pages (README "Securing the web pages"). Tokens shorter than 16
    # characters are refused when the pages start.
    #: Serve HTTPS directly with this certificate chain and key (PEM files; both or
    #: neither: the pages refuse to start with one alone or a file missing).
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: Behind a reverse proxy that terminates TLS: its ``X-Forwarded-Proto: https``
    #: makes cookies Secure and its ``X-Forwarded-For`` (last entry) is the client's
    #: address for the login throttle. Leave off when clients reach the IVR directly.
    behind_tls_proxy: bool = False
    #: Seconds a login lasts at most, and without a request (an open page counts).
    session_max_age: float = Field(12 * 3600.0, gt=0)
    session_idle_timeout: float = Field(30 * 60.0, gt=0)
    #: Wrong logins: from one address, this many free, then one more per
    #: 60/per_minute seconds (HTTP 429 meanwhile); to one account the same.
    login_address_burst: int = Field(10, ge=1)
    login_address_per_minute: float = Field(6.0, gt=0)
    login_account_burst: int = Field(5, ge=1)
    login_account_per_minute: float = Field(2.0, gt=0)


class SpeechSettings(BaseModel):
    """Speech recognition (Vosk over Asterisk's AudioSocket); off without a model."""

    #: Folder of a Vosk model (``am/``, ``graph/``, ``conf/``). Unset: speech is off and
    #: every input takes keys only.
    model_path: Path | None = None
    #: The IVR's AudioSocket server; Asterisk connects to ``connect_to`` (host:port),
    #: by default this same address.
    audiosocket_host: str = "127.0.0.1"
    audiosocket_port: int = Field(4575, ge=0, le=65535)
    connect_to: str = ""
    #: Recognition threads (0: one per core).
    workers: int = Field(0, ge=0, le=64)
    #: Attempts of an input that listen for speech; later ones take keys only.
    attempts: int = Field(2, ge=0, le=10)
    #: Seconds of silence after the caller stops that end an answer: short for a menu
    #: word or ya/tidak (the result comes that much sooner), longer for digits, where
    #: callers pause between groups ("lima tiga dua ... satu satu").
    end_silence: float = Field(0.25, gt=0, le=5)
    digits_end_silence: float = Field(0.8, gt=0, le=5)
    #: Longest answer, in seconds.
    max_speech: float = Field(10.0, gt=0, le=60)
    #: Words heard with less confidence than this are a nomatch.
    min_confidence: float = Field(0.5, ge=0, le=1)


class AgentSettings(BaseModel):
    """One CSO: their page login and, optionally, their queue membership.

    The agent's id (the key under ``[agents]``) is their queue member name: AMI's
    ``MemberName`` on queue events says whose phone rings.
    """

    name: str
    #: Login token for the screen-pop page (keep it outside git).
    token: SecretStr
    #: Where the agent's phone is, as Asterisk dials it: ``PJSIP/cso1``. With
    #: ``queues`` set, the IVR adds this member to those queues over AMI whenever it
    #: connects (so membership survives an Asterisk restart); leave ``queues`` empty
    #: when queue membership is kept in Asterisk itself.
    interface: str = ""
    queues: list[str] = Field(default_factory=list)
    #: Queue penalty: members with a lower one are rung first.
    penalty: int = Field(0, ge=0)


class OpsSettings(BaseModel):
    """One operations user: their login to the ops page (``[ops.<id>]``).

    Ops users see the statistics and steer the IVR; they cannot take calls, and an
    agent's login does not open the ops page.
    """

    name: str
    #: Login token for the ops page (keep it outside git).
    token: SecretStr


class PrivacySettings(BaseModel):
    """Personal data in the call store (UU 27/2022; README "Personal data")."""

    #: Days after which a call's personal data (phone numbers, IDPEL, NIK, names, free
    #: text) is erased from call records, answers, pops, call-backs and what the IVR
    #: filed, keeping the anonymous counts ``pln123 stats`` reads. 0 keeps it forever.
    retention_days: int = Field(90, ge=0)


class StoreSettings(BaseModel):
    """Where shared state lives (``[store]``).

    No ``url``: the SQLite file at ``db_path`` (one host). A ``postgresql://`` URL:
    a PostgreSQL server that any number of IVR workers, on any number of hosts, share.
    The URL may hold a password: set it in ``PLN123_STORE__URL`` or the config file
    outside git, never in code.
    """

    url: SecretStr = SecretStr("")
    #: Connections each IVR worker keeps open to PostgreSQL for call records.
    pool_size: int = Field(4, ge=1, le=100)

    @property
    def postgres(self) -> bool:
        """True when the store is a PostgreSQL server."""
        return self.url.get_secret_value().startswith(("postgresql://", "postgres://"))

    @model_validator(mode="after")
    def _known_scheme(self) -> StoreSettings:
        url = self.url.get_secret_value()
        if url and not self.postgres:
            raise ValueError("store.url must start with postgresql:// (or be unset for SQLite)")
        return self


class GreetingHours(BaseModel):
    """Local hour at which each greeting period starts (0-23)."""

    pagi: int = Field(4, ge=0, le=23)
    siang: int = Field(11, ge=0, le=23)
    sore: int = Field(15, ge=0, le=23)
    malam: int = Field(18, ge=0, le=23)

    @model_validator(mode="after")
    def _ordered(self) -> GreetingHours:
        if not self.pagi < self.siang < self.sore < self.malam:
            raise ValueError("greeting hours must rise: pagi < siang < sore < malam")
        return self


class Settings(BaseSettings):
    """Everything the IVR can be told."""

    model_config = SettingsConfigDict(
        env_prefix="PLN123_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    agi: AgiSettings = Field(default_factory=AgiSettings)
    ami: AmiSettings = Field(default_factory=AmiSettings)
    greeting_hours: GreetingHours = Field(default_factory=GreetingHours)
    web: WebSettings = Field(default_factory=WebSettings)
    speech: SpeechSettings = Field(default_factory=SpeechSettings)
    #: CSOs by id (their queue member name): ``[agents.cso1] name, token, ...``.
    agents: dict[str, AgentSettings] = Field(default_factory=dict)
    #: Operations users by id: ``[ops.lina] name, token``.
    ops: dict[str, OpsSettings] = Field(default_factory=dict)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    #: Seconds a caller waits in a CSO queue before being offered a call back.
    queue_max_wait: int = Field(300, ge=5)

    #: SQLite file holding call records (created with its folder when missing).
    db_path: Path = Path("var/pln123.sqlite3")
    flows_dir: Path = Path("flows")
    #: Prompt catalogue and audio: ``prompts.yaml`` plus ``rendered/`` and ``recorded/``.
    audio_dir: Path = Path("audio")
    #: Folder under Asterisk's sounds directory where our prompts are installed.
    asterisk_sounds_prefix: str = "pln123"
    #: Where the IVR writes prompts spoken at run time (those with ``{variables}``):
    #: a folder Asterisk sees as ``<sounds>/<asterisk_sounds_prefix>/dynamic``. Unset:
    #: such prompts are not spoken. ``pln123 up`` sets it for the sandbox.
    dynamic_audio_dir: Path | None = None
    #: Flow a call runs when the AGI request names none (``agi://host/main``).
    default_flow: str = "main"
    #: Queue used when a flow names none, and when everything else fails.
    default_queue: str = "umum"
    #: Time zone of callers when nothing better is known (WIB).
    default_timezone: str = "Asia/Jakarta"
    #: Seconds a named action may take before the caller goes to a CSO.
    action_timeout: float = Field(5.0, gt=0)
    #: Seconds one backend call (CRM, customer data, APKT) may take; then the caller
    #: goes to a CSO with what was collected.
    backend_timeout: float = Field(3.0, gt=0)
    #: UDP port of the sandbox Asterisk's PJSIP listener (softphones on 127.0.0.1).
    sip_port: int = Field(5060, ge=1, le=65535)
    #: Password of the sandbox's ``softphone`` SIP account.
    sip_password: SecretStr = SecretStr("")
    log_level: str = "INFO"
    #: ``text``: one readable line per record; ``json``: one JSON object per line, with
    #: the call id, flow and node of the call it is about (for a log collector).
    log_format: Literal["text", "json"] = "text"

    @property
    def store_location(self) -> Path | str:
        """Where the store is: ``[store] url`` when set, else the SQLite ``db_path``."""
        return self.store.url.get_secret_value() if self.store.postgres else self.db_path

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = config_file_path()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)


class _DefaultsOnly(Settings):
    """Settings that read neither the environment nor a config file."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def isolated_settings(**values: Any) -> Settings:
    """Settings from ``values`` and the defaults only, whatever the environment and the
    working folder hold: for a benchmark that runs an Asterisk and an IVR of its own."""
    return _DefaultsOnly(**values)


def config_file_path() -> Path | None:
    """The TOML file to read, or None when there is none."""
    named = os.environ.get(CONFIG_ENV)
    if named == "":
        return None  # set but empty: no config file, not even ./pln123.toml
    if named:
        path = Path(named)
        if not path.is_file():
            raise FileNotFoundError(f"{CONFIG_ENV}={named}: no such config file")
        return path
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and config file, with explicit overrides."""
    return Settings(**overrides)
