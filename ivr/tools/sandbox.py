"""A private Asterisk for tests and demos: provision, configure, start, stop.

Two ways to run it:

* **chroot** (default): a Debian unstable root built by
  ``scripts/provision-asterisk.sh`` under ``.cache/asterisk/root``; Asterisk runs
  as ``chroot ROOT /usr/sbin/asterisk -f -C <state>/etc/asterisk.conf``. Needs root.
* **system**: ``root="system"`` or env ``PLN123_ASTERISK_BIN`` set: the
  ``asterisk`` on PATH (or that binary), with its state under
  ``.cache/asterisk/system``. Module and sound folders are read from the
  system's ``asterisk.conf`` (override: ``PLN123_ASTERISK_MODDIR`` /
  ``PLN123_ASTERISK_DATADIR``).

Each running sandbox has its own state folder, named after its AMI port
(``/var/lib/pln123-sandbox/ami<port>`` inside the chroot, or
``.cache/asterisk/system/ami<port>``) holding ``etc/`` (the rendered
``asterisk_conf/`` plus a few core files copied from the distribution's
``/etc/asterisk``, which is never modified), ``run/``, ``log/`` (``full.log``),
``lib/``, ``spool/``, ``console.log`` and ``data/``: the distribution's data
folder mirrored with symlinks, plus ``data/sounds/pln123/`` with a copy of the
repo's ``audio/``, so the IVR plays ``pln123/<name>``, and ``data/sounds/id/digits/``
with the Indonesian numbers the queues' announcements say
(:mod:`ivr.asterisk.queue_sounds`). Two sandboxes with
different ports can therefore run side by side (a demo and the tests), and one
sandbox's files never leak into another's.

Readiness is "AMI accepts our login and reports FullyBooted", not a sleep. An
Asterisk that a killed earlier run left behind is stopped on the next start,
and state folders of sandboxes that are no longer running are removed.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import secrets
import shutil
import socket
import subprocess
import time
import wave
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Literal

from ivr.asterisk.queue_sounds import DIGITS_FOLDER, install_number_sounds
from ivr.asterisk.queue_sounds import LANGUAGE as QUEUE_LANGUAGE
from ivr.asterisk.render import render_conf
from ivr.prompts.catalogue import CatalogueError

__all__ = [
    "CORE_CONFS",
    "REPO_ROOT",
    "SOUNDS_SUBDIR",
    "SOUND_SUFFIXES",
    "AsteriskSandbox",
    "SandboxError",
    "free_port",
]

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE_DIR = REPO_ROOT / ".cache" / "asterisk"

#: Audio file types Asterisk can play (by extension), copied from ``audio/``.
SOUND_SUFFIXES = frozenset(
    {".wav", ".WAV", ".gsm", ".sln", ".sln16", ".ulaw", ".alaw", ".g722", ".g729", ".raw"}
)

#: Config files Asterisk's core reads whatever modules load; the sandbox copies
#: them from the distribution (everything else comes from ``asterisk_conf/``).
CORE_CONFS = (
    "acl.conf",
    "ccss.conf",
    "cdr.conf",
    "cel.conf",
    "codecs.conf",
    "dsp.conf",
    "features.conf",
    "indications.conf",
    "pjproject.conf",
    "rtp.conf",
    "say.conf",
    "sorcery.conf",
    "stasis.conf",
    "udptl.conf",
)

#: Between the FastAGI addresses of ``${agi_addresses}`` (the dialplan's ``CUT``).
AGI_ADDRESS_SEPARATOR = "&"

#: Where the IVR's prompts go, under the sounds folder: played as ``pln123/<name>``.
SOUNDS_SUBDIR = "pln123"

#: State folders of chroot sandboxes, as Asterisk sees them.
_CHROOT_STATE_BASE = "/var/lib/pln123-sandbox"

_MODDIR_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/asterisk/modules",
    "/usr/lib/aarch64-linux-gnu/asterisk/modules",
    "/usr/lib64/asterisk/modules",
    "/usr/lib/asterisk/modules",
)
_DATADIR_CANDIDATES = ("/usr/share/asterisk", "/var/lib/asterisk")
_STATE_SUBDIRS = ("etc", "run", "log", "lib", "spool", "cache", "data")


class SandboxError(RuntimeError):
    """The sandbox could not be provisioned, started or stopped."""


class AmiLoginError(Exception):
    """AMI answered, but not as our sandbox (wrong secret, or another Asterisk)."""


def free_port(kind: Literal["tcp", "udp"] = "tcp", host: str = "127.0.0.1") -> int:
    """A port the kernel says is free right now on ``host`` (racy, but fine on loopback)."""
    sock_type = socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, sock_type) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _env_or_token(name: str) -> str:
    return os.environ.get(name) or secrets.token_urlsafe(18)


def _default_root() -> Path | Literal["system"]:
    if os.environ.get("PLN123_ASTERISK_BIN"):
        return "system"
    return DEFAULT_CACHE_DIR / "root"


@dataclass
class AsteriskSandbox:
    """Settings and lifecycle of one sandbox Asterisk.

    Ports given as 0 are replaced by free loopback ports when the object is
    made, and kept across :meth:`restart`. Secrets default to env
    ``PLN123_AMI_SECRET`` / ``PLN123_SIP_PASSWORD`` or random tokens; they are
    written only into the sandbox's rendered config, never into the repository.
    """

    root: Path | Literal["system"] = field(default_factory=_default_root)
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    #: FastAGI addresses (``host:port``) the dialplan tries in order; empty: only
    #: ``agi_host:agi_port``.
    agi_addresses: tuple[str, ...] = ()
    callerbot_port: int = 0
    ami_port: int = 0
    ami_user: str = "pln123"
    ami_secret: str = field(default_factory=lambda: _env_or_token("PLN123_AMI_SECRET"))
    sip_port: int = 0
    sip_password: str = field(default_factory=lambda: _env_or_token("PLN123_SIP_PASSWORD"))
    audio_dir: Path | None = REPO_ROOT / "audio"
    #: Seconds in a queue before the caller is offered a call back.
    queue_max_wait: int = 300
    #: Seconds a test agent (``Local/<id>@pln123-test-agents``) stays on the line.
    test_agent_talk_seconds: int = 3
    conf_src: Path = REPO_ROOT / "asterisk_conf"
    cache_dir: Path = DEFAULT_CACHE_DIR
    #: Name of the state folder; default ``ami<ami_port>``.
    instance: str = ""
    start_timeout: float = 30.0
    stop_timeout: float = 10.0

    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _console: IO[bytes] | None = field(default=None, init=False, repr=False)
    _lock_fd: int | None = field(default=None, init=False, repr=False)
    _system_name: str = field(default="", init=False, repr=False)
    _moh_directory: str = field(default="moh", init=False, repr=False)

    def __post_init__(self) -> None:
        if self.root != "system":
            self.root = Path(self.root).resolve()
        if self.agi_port == 0:
            self.agi_port = free_port("tcp", self.agi_host)
        if self.callerbot_port == 0:
            self.callerbot_port = free_port("tcp", self.agi_host)
        if self.ami_port == 0:
            self.ami_port = free_port("tcp")
        if self.sip_port == 0:
            self.sip_port = free_port("udp")
        if not self.instance:
            self.instance = f"ami{self.ami_port}"
        self._system_name = f"pln123-{self.instance}-{secrets.token_hex(3)}"

    # ------------------------------------------------------------------ layout
    @property
    def is_system(self) -> bool:
        """True when running the machine's own Asterisk instead of the chroot."""
        return self.root == "system"

    @property
    def ami_host(self) -> str:
        return "127.0.0.1"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def state_dir(self) -> Path:
        """Host path of this sandbox's state folder."""
        return self.host_path(self._state_inner)

    @property
    def console_log(self) -> Path:
        """Asterisk's own stdout/stderr (startup errors land here)."""
        return self.state_dir / "console.log"

    @property
    def log_dir(self) -> Path:
        """Host path of Asterisk's log folder (``full.log``, ``messages.log``)."""
        return self.state_dir / "log"

    @property
    def etc_dir(self) -> Path:
        """Host path of the rendered config."""
        return self.state_dir / "etc"

    @property
    def sounds_dir(self) -> Path:
        """Host path where the IVR prompts are copied (played as ``pln123/<name>``)."""
        return self.state_dir / "data" / "sounds" / SOUNDS_SUBDIR

    @property
    def number_sounds_dir(self) -> Path:
        """Host path of the Indonesian numbers the queues say (``id/digits/<n>.wav``)."""
        return self.state_dir / "data" / "sounds" / QUEUE_LANGUAGE / DIGITS_FOLDER

    @property
    def _root_path(self) -> Path:
        assert isinstance(self.root, Path), "chroot mode only"
        return self.root

    @property
    def _state_base_inner(self) -> str:
        if self.is_system:
            return str((self.cache_dir / "system").resolve())
        return _CHROOT_STATE_BASE

    @property
    def _state_inner(self) -> str:
        return f"{self._state_base_inner}/{self.instance}"

    def host_path(self, inner: str) -> Path:
        """The host path of a path as Asterisk sees it (inside the chroot or not).

        Symlinks inside the chroot are absolute to the chroot (Debian's
        ``/var/run -> /run``), so they are followed by hand, never on the host.
        """
        if self.is_system:
            return Path(inner)
        root = self._root_path
        parts = [p for p in Path(inner).parts if p != "/"]
        current = root
        for depth, part in enumerate(parts):
            candidate = current / part
            if candidate.is_symlink():
                target = os.readlink(candidate)
                rest = "/".join(parts[depth + 1 :])
                if not target.startswith("/"):
                    target = "/" + (current / target).relative_to(root).as_posix()
                return self.host_path(f"{target}/{rest}" if rest else target)
            current = candidate
        return current

    def values(self) -> dict[str, str]:
        """The placeholder values the templates are rendered with."""
        state = self._state_inner
        return {
            "agi_host": self.agi_host,
            "agi_port": str(self.agi_port),
            "agi_addresses": AGI_ADDRESS_SEPARATOR.join(
                self.agi_addresses or (f"{self.agi_host}:{self.agi_port}",)
            ),
            "callerbot_port": str(self.callerbot_port),
            "ami_port": str(self.ami_port),
            "ami_user": self.ami_user,
            "ami_secret": self.ami_secret,
            "sip_port": str(self.sip_port),
            "sip_password": self.sip_password,
            "queue_max_wait": str(self.queue_max_wait),
            "test_agent_talk_seconds": str(self.test_agent_talk_seconds),
            "moh_directory": self._moh_directory,
            "system_name": self._system_name,
            "ast_etc_dir": f"{state}/etc",
            "ast_data_dir": f"{state}/data",
            "ast_var_lib_dir": f"{state}/lib",
            "ast_spool_dir": f"{state}/spool",
            "ast_run_dir": f"{state}/run",
            "ast_log_dir": f"{state}/log",
            "ast_cache_dir": f"{state}/cache",
            "ast_mod_dir": self._dist_dir(
                "astmoddir", "PLN123_ASTERISK_MODDIR", _MODDIR_CANDIDATES
            ),
        }

    def _dist_dir(self, key: str, env: str, candidates: tuple[str, ...]) -> str:
        """A folder of the distribution's Asterisk: env override, its asterisk.conf, a guess."""
        if self.is_system and os.environ.get(env):
            return os.environ[env]
        with contextlib.suppress(OSError):
            conf = self.host_path("/etc/asterisk/asterisk.conf").read_text(errors="replace")
            for line in conf.splitlines():
                name, sep, value = line.partition("=>")
                if sep and name.strip() == key:
                    return value.split(";", 1)[0].strip()
        for candidate in candidates:
            if self.host_path(candidate).is_dir():
                return candidate
        raise SandboxError(f"cannot find the Asterisk {key} in {self.root}; set {env}")

    def _conf_inner(self, state_inner: str | None = None) -> str:
        return f"{state_inner or self._state_inner}/etc/asterisk.conf"

    def _base_cmd(self, conf_inner: str | None = None) -> list[str]:
        conf = conf_inner or self._conf_inner()
        if self.is_system:
            binary = os.environ.get("PLN123_ASTERISK_BIN") or "asterisk"
            resolved = shutil.which(binary)
            if resolved is None:
                raise SandboxError(f"system Asterisk {binary!r} not found on PATH")
            return [resolved, "-C", conf]
        return ["chroot", str(self._root_path), "/usr/sbin/asterisk", "-C", conf]

    # --------------------------------------------------------------- provision
    def provision(self) -> None:
        """Build the chroot if it is not there yet (a minute or so, once)."""
        if not self.is_system and (self._root_path / "usr/sbin/asterisk").exists():
            return
        script = REPO_ROOT / "scripts" / "provision-asterisk.sh"
        arg = "system" if self.is_system else str(self._root_path)
        result = subprocess.run(["bash", str(script), arg], check=False)
        if result.returncode != 0:
            raise SandboxError(f"{script} {arg} failed with exit code {result.returncode}")

    # --------------------------------------------------------------- lifecycle
    def start(self) -> None:
        """Render the config, copy sounds, launch Asterisk and wait until it is ready."""
        if self.running:
            raise SandboxError("sandbox Asterisk is already running")
        if not self.is_system and not (self._root_path / "usr/sbin/asterisk").exists():
            raise SandboxError(
                f"no Asterisk in {self.root}: run scripts/provision-asterisk.sh or provision()"
            )
        self._claim_state_dir()
        try:
            self._prepare_state()
            render_conf(self.conf_src, self.etc_dir, self.values())
            self._launch()
            self._wait_ready()
        except BaseException:
            self._shutdown_process()
            self._release_lock()
            raise
        atexit.register(self._atexit_kill)

    def stop(self) -> None:
        """Stop gracefully (``core stop now``), then terminate, then kill."""
        atexit.unregister(self._atexit_kill)
        try:
            self._shutdown_process()
        finally:
            self._release_lock()

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> AsteriskSandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def cli(self, command: str, timeout: float = 10.0) -> str:
        """Run an Asterisk CLI command (``asterisk -rx``) and return its output."""
        return self._cli(self._conf_inner(), command, timeout)

    def _cli(self, conf_inner: str, command: str, timeout: float) -> str:
        result = subprocess.run(
            [*self._base_cmd(conf_inner), "-rx", command],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        out = result.stdout.decode(errors="replace")
        if result.returncode != 0:
            err = result.stderr.decode(errors="replace")
            raise SandboxError(f"asterisk -rx {command!r} failed ({result.returncode}): {out}{err}")
        return out

    def log_tail(self, lines: int = 40) -> str:
        """The end of the console log and full.log, for error messages."""
        chunks = []
        for path in (self.console_log, self.log_dir / "full.log"):
            with contextlib.suppress(OSError):
                text = path.read_text(errors="replace").splitlines()[-lines:]
                chunks.append(f"--- {path}\n" + "\n".join(text))
        return "\n".join(chunks)

    # ------------------------------------------------------- state and locking
    def _claim_state_dir(self) -> None:
        """Lock our state folder; clear away sandboxes that no longer run.

        A short global lock covers "collect garbage, create and lock ours", so
        a sandbox starting in parallel is never taken for garbage.
        """
        base = self.host_path(self._state_base_inner)
        base.mkdir(parents=True, exist_ok=True)
        with _flocked(base / ".claim.lock"):
            for other in _iterdir(base):
                if other.is_dir() and other.name != self.instance:
                    self._collect_if_stopped(other)
            self.state_dir.mkdir(exist_ok=True)
            fd = os.open(self.state_dir / "sandbox.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise SandboxError(
                    f"a sandbox Asterisk with state {self.state_dir} (AMI port "
                    f"{self.ami_port}) is already running"
                ) from None
            self._lock_fd = fd
        self._stop_stale_instance(self._state_inner)

    def _collect_if_stopped(self, folder: Path) -> None:
        """Remove another sandbox's state folder unless that sandbox is running."""
        lock = folder / "sandbox.lock"
        if not lock.exists():
            return
        fd = os.open(lock, os.O_RDWR)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # running
            self._stop_stale_instance(f"{self._state_base_inner}/{folder.name}")
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            os.close(fd)

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _stop_stale_instance(self, state_inner: str) -> None:
        """Stop an Asterisk that a killed earlier run left on this state folder."""
        pidfile = self.host_path(f"{state_inner}/run/asterisk.pid")
        try:
            pid = int(pidfile.read_text().strip())
        except (OSError, ValueError):
            return
        conf = self._conf_inner(state_inner)
        if not self._is_our_asterisk(pid, conf):
            return
        log.warning("stopping stale sandbox Asterisk pid %d (%s)", pid, conf)
        with contextlib.suppress(SandboxError, subprocess.TimeoutExpired, OSError):
            self._cli(conf, "core stop now", timeout=5)
        if not _wait_pid_gone(pid, self.stop_timeout):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
            _wait_pid_gone(pid, 5)

    def _is_our_asterisk(self, pid: int, conf_inner: str) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            root = os.readlink(f"/proc/{pid}/root")
        except OSError:
            return False
        if conf_inner.encode() not in cmdline:
            return False
        return self.is_system or Path(root) == self._root_path

    def _prepare_state(self) -> None:
        """Fresh etc/ and data/ (with our sounds) in the state folder; keep lib/ and logs."""
        state = self.state_dir
        for sub in ("etc", "data"):
            shutil.rmtree(state / sub, ignore_errors=True)
        for sub in _STATE_SUBDIRS:
            (state / sub).mkdir(parents=True, exist_ok=True)
        for name in CORE_CONFS:
            with contextlib.suppress(OSError):
                shutil.copyfile(self.host_path(f"/etc/asterisk/{name}"), self.etc_dir / name)
        self._mirror_datadir()
        self._install_sounds()
        self._prepare_moh()

    def _mirror_datadir(self) -> None:
        """data/: symlinks into the distribution's data folder, with a real sounds/."""
        dist = self._dist_dir("astdatadir", "PLN123_ASTERISK_DATADIR", _DATADIR_CANDIDATES)
        data = self.state_dir / "data"
        for entry in _iterdir(self.host_path(dist)):
            if entry.name != "sounds":
                (data / entry.name).symlink_to(f"{dist}/{entry.name}")
        (data / "sounds").mkdir()
        for entry in _iterdir(self.host_path(f"{dist}/sounds")):
            if entry.name not in (SOUNDS_SUBDIR, QUEUE_LANGUAGE):
                (data / "sounds" / entry.name).symlink_to(f"{dist}/sounds/{entry.name}")
        # sounds/id/ is real, so that our digits/ can go in; whatever else the
        # distribution has in that language is linked in as it is.
        language = f"{dist}/sounds/{QUEUE_LANGUAGE}"
        (data / "sounds" / QUEUE_LANGUAGE / DIGITS_FOLDER).mkdir(parents=True)
        for entry in _iterdir(self.host_path(language)):
            if entry.name != DIGITS_FOLDER:
                (data / "sounds" / QUEUE_LANGUAGE / entry.name).symlink_to(
                    f"{language}/{entry.name}"
                )
        for entry in _iterdir(self.host_path(f"{language}/{DIGITS_FOLDER}")):
            (data / "sounds" / QUEUE_LANGUAGE / DIGITS_FOLDER / entry.name).symlink_to(
                f"{language}/{DIGITS_FOLDER}/{entry.name}"
            )

    def _install_sounds(self) -> None:
        """Copy the repo's prompts (any playable file under audio/) into sounds/pln123/,
        and the queues' Indonesian numbers into sounds/id/digits/ when they are rendered."""
        target = self.sounds_dir
        target.mkdir(parents=True)
        if self.audio_dir is None or not self.audio_dir.is_dir():
            return
        for src in sorted(self.audio_dir.rglob("*")):
            if src.is_file() and src.suffix in SOUND_SUFFIXES:
                dest = target / src.relative_to(self.audio_dir)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
        try:
            install_number_sounds(self.audio_dir, target.parent)
        except FileNotFoundError as exc:
            log.warning("queue announcements will say numbers in English: %s", exc)
        except CatalogueError as exc:
            log.warning("no Indonesian numbers for the queues: %s", exc)

    def _prepare_moh(self) -> None:
        """Use the installed music on hold, or a second of silence if there is none.

        Without any file the ``default`` class does not exist and every queued
        call logs an error; roots built by the provision script have
        asterisk-moh-opsound-gsm, older roots may not.
        """
        moh = self.state_dir / "data" / "moh"
        if moh.is_symlink() and any(
            p.is_file() for p in _iterdir(self.host_path(os.readlink(moh)))
        ):
            self._moh_directory = "moh"
            return
        folder = self.state_dir / "lib" / "moh-silence"
        folder.mkdir(parents=True, exist_ok=True)
        silence = folder / "silence.wav"
        if not silence.exists():
            with wave.open(str(silence), "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(2)
                out.setframerate(8000)
                out.writeframes(b"\0\0" * 8000)
        self._moh_directory = f"{self._state_inner}/lib/moh-silence"

    # ---------------------------------------------------------------- process
    def _launch(self) -> None:
        self._console = self.console_log.open("ab")
        self._console.write(f"\n=== start {time.strftime('%F %T')} ===\n".encode())
        self._console.flush()
        # -f: stay in the foreground, so this Popen is Asterisk itself (chroot execs it).
        cmd = [*self._base_cmd(), "-f"]
        log.info("starting %s", " ".join(cmd))
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=self._console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _wait_ready(self) -> None:
        """Wait until AMI accepts our login and Asterisk says FullyBooted."""
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SandboxError(
                    f"Asterisk not ready after {self.start_timeout:.0f} s\n{self.log_tail()}"
                )
            if self._proc.poll() is not None:
                raise SandboxError(
                    f"Asterisk exited with code {self._proc.returncode} while starting\n"
                    f"{self.log_tail()}"
                )
            try:
                _ami_wait_fully_booted(
                    self.ami_host,
                    self.ami_port,
                    self.ami_user,
                    self.ami_secret,
                    self._system_name,
                    timeout=remaining,
                )
                return
            except (ConnectionRefusedError, ConnectionResetError):
                # Manager not listening yet: wait a little, but wake up at once
                # if Asterisk dies meanwhile.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(timeout=min(0.05, remaining))
            except (OSError, AmiLoginError) as exc:
                raise SandboxError(
                    f"AMI on port {self.ami_port}: {exc}\n{self.log_tail()}"
                ) from exc

    def _shutdown_process(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(SandboxError, subprocess.TimeoutExpired, OSError):
                self.cli("core stop now", timeout=self.stop_timeout)
            try:
                proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                log.warning("Asterisk did not stop gracefully; terminating pid %d", proc.pid)
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        self._proc = None
        if self._console is not None:
            self._console.close()
            self._console = None

    def _atexit_kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=5)


# ------------------------------------------------------------------ helpers
@contextlib.contextmanager
def _flocked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _iterdir(path: Path) -> Iterator[Path]:
    with contextlib.suppress(OSError):
        yield from sorted(path.iterdir())


def _wait_pid_gone(pid: int, timeout: float) -> bool:
    """Wait for a process that is not our child to exit (no wait() possible)."""
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _read_message(stream: IO[bytes]) -> Mapping[str, str]:
    """One AMI message (header lines up to a blank line), keys lower-cased."""
    headers: dict[str, str] = {}
    while True:
        line = stream.readline()
        if not line:
            raise ConnectionResetError("AMI closed the connection")
        text = line.decode(errors="replace").rstrip("\r\n")
        if not text:
            if headers:
                return headers
            continue
        key, _, value = text.partition(":")
        headers[key.strip().lower()] = value.strip()


def _ami_wait_fully_booted(
    host: str, port: int, user: str, secret: str, system_name: str, timeout: float
) -> None:
    """Log in over a plain socket and return once FullyBooted has been seen.

    Also checks that the Asterisk answering is this sandbox (its SystemName),
    not another one that happens to own the port.
    """
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        stream = sock.makefile("rb")
        greeting = stream.readline()
        if not greeting.startswith(b"Asterisk Call Manager"):
            raise AmiLoginError(f"not an AMI greeting: {greeting!r}")
        sock.sendall(
            (
                f"Action: Login\r\nActionID: sandbox-login\r\nUsername: {user}\r\n"
                f"Secret: {secret}\r\nEvents: system\r\n\r\n"
            ).encode()
        )
        logged_in = booted = False
        while not (logged_in and booted):
            msg = _read_message(stream)
            if msg.get("actionid") == "sandbox-login":
                if msg.get("response", "").lower() != "success":
                    raise AmiLoginError(f"login refused: {msg.get('message', '')}")
                logged_in = True
            elif msg.get("event", "").lower() == "fullybooted":
                booted = True
        sock.sendall(b"Action: CoreSettings\r\nActionID: sandbox-settings\r\n\r\n")
        while (msg := _read_message(stream)).get("actionid") != "sandbox-settings":
            pass
        name = msg.get("systemname", "")
        if name != system_name:
            raise AmiLoginError(f"port {port} answers as {name!r}, not {system_name!r}")
        sock.sendall(b"Action: Logoff\r\n\r\n")
