"""A private PostgreSQL server for tests, demos and benchmarks: initdb once, start, stop.

It runs Debian's PostgreSQL binaries (``/usr/lib/postgresql/<major>/bin``, the
newest major unless the cluster was made by another) on a cluster of its own in a
base folder, by default ``.cache/postgres/<name>``::

    <base>/sandbox.lock     held while a sandbox runs on this folder
    <base>/data/            the cluster (initdb once, reused by every later start)
    <base>/run/             the unix socket (or a short folder in /tmp, see below)
    <base>/log/postgres.log what the server says (startup errors land here)

**Trust, loopback only.** It is a sandbox: the superuser is ``pln123``, with no
password, and the server listens on 127.0.0.1 (a free port picked at every start)
and on a unix socket only root and the server's user can reach. Never point it at
an address other machines can reach.

**Durable unless fast.** ``fast=True`` turns fsync, synchronous_commit and
full_page_writes off: for tests only, where losing the cluster to a power cut costs
nothing. The default is a durable server, so a benchmark measures what production
would pay for a commit.

**As root** (``./test.sh`` and ``./run.sh`` run as root) initdb and postgres refuse to
run, so they run as the ``postgres`` system user that Debian's package creates. That
user owns the base folder and must be able to pass through every folder above it:
folders inside this project that it cannot pass get ``o+x`` (pass through, not list);
for a folder outside the project, such as a ``/root`` the project was cloned into,
start() stops with the ``chmod`` to run, instead of loosening it on its own.

**Short socket paths.** A unix socket path holds at most 107 bytes; when
``<base>/run/.s.PGSQL.<port>.lock`` would be longer, the socket goes into
``/tmp/pln123-pg-<hash of base>``.

**Left-overs.** A server that a killed earlier run left on the cluster is stopped on
the next start, and a ``postmaster.pid`` naming a dead (or reused) process id is
removed, since PostgreSQL would otherwise refuse to start. stop() (and an atexit
hook, for a program that forgets) leaves no process of the server behind: every
process whose working folder is the cluster is waited for, or killed.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import logging
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from ivr.tools.sandbox import REPO_ROOT, SandboxError, free_port

__all__ = [
    "DATABASE",
    "ROLE",
    "PostgresSandbox",
    "PostgresSandboxBusy",
    "PostgresSandboxError",
    "find_bindir",
]

log = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = REPO_ROOT / ".cache" / "postgres"
#: Where Debian's packages put each major version's ``bin/``.
DEBIAN_PG_LIB = Path("/usr/lib/postgresql")
#: The superuser the cluster is made with, and the database start() creates.
ROLE = "pln123"
DATABASE = "pln123"
#: The system user Debian's package creates; the server runs as it when we are root.
SERVICE_USER = "postgres"
#: The database admin commands connect to (never one a test or the IVR uses).
_ADMIN_DATABASE = "postgres"
_INSTALL_HINT = "install Debian's postgresql package (scripts/setup.sh does)"
_SOCKET_PATH_MAX = 107
_CONF_NAME = "pln123_sandbox.conf"
_DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_BINARIES = ("initdb", "pg_ctl", "postgres")


class PostgresSandboxError(SandboxError):
    """The sandbox PostgreSQL could not be found, set up, started or stopped."""


class PostgresSandboxBusy(PostgresSandboxError):
    """Another sandbox (in this or another process) is running on the same folder."""


def find_bindir(lib: Path = DEBIAN_PG_LIB, major: str | None = None) -> Path:
    """``<lib>/<major>/bin`` with initdb, pg_ctl and postgres: the newest major, or ``major``."""
    candidates = sorted(
        (p for p in _iterdir(lib) if p.name.replace(".", "").isdigit()),
        key=lambda p: tuple(int(n) for n in p.name.split(".")),
        reverse=True,
    )
    for folder in candidates:
        if major is not None and folder.name != major:
            continue
        if all(os.access(folder / "bin" / b, os.X_OK) for b in _BINARIES):
            return folder / "bin"
    if major is None:
        raise PostgresSandboxError(
            f"no PostgreSQL server binaries ({', '.join(_BINARIES)}) under {lib}/*/bin: "
            f"{_INSTALL_HINT}"
        )
    raise PostgresSandboxError(
        f"the cluster was made by PostgreSQL {major}, and {lib}/{major}/bin has no "
        f"{', '.join(_BINARIES)}: install Debian's postgresql-{major} package, or "
        "delete the cluster folder"
    )


@dataclass
class PostgresSandbox:
    """One sandbox PostgreSQL server on a cluster in ``base``.

    ``start()`` returns the libpq URL of database ``pln123`` as role ``pln123``;
    ``create_database()`` makes a fresh empty database (one per test).
    """

    name: str = "main"
    #: Default ``.cache/postgres/<name>`` in the project.
    base: Path | None = None
    #: fsync, synchronous_commit and full_page_writes off: tests only.
    fast: bool = False
    #: Enough for several IVR workers' pools plus tests and tools.
    max_connections: int = 200
    pg_lib: Path = DEBIAN_PG_LIB
    start_timeout: float = 30.0
    stop_timeout: float = 10.0

    host: str = field(default="127.0.0.1", init=False)
    _port: int | None = field(default=None, init=False, repr=False)
    _next_port: int | None = field(default=None, init=False, repr=False)
    _pid: int | None = field(default=None, init=False, repr=False)
    _lock_fd: int | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.base = Path(self.base or default_base(self.name)).absolute()

    # ------------------------------------------------------------------ layout
    @property
    def folder(self) -> Path:
        assert self.base is not None
        return self.base

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def log_file(self) -> Path:
        return self.folder / "log" / "postgres.log"

    @property
    def socket_dir(self) -> Path:
        """``<base>/run``, or a short folder in /tmp when that path is too long."""
        run = self.folder / "run"
        if len(f"{run}/.s.PGSQL.65535.lock") <= _SOCKET_PATH_MAX:
            return run
        digest = hashlib.sha256(str(self.folder).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"pln123-pg-{digest}"

    @property
    def running(self) -> bool:
        return self._pid is not None and _alive(self._pid)

    @property
    def pid(self) -> int | None:
        """The postmaster's process id while running."""
        return self._pid if self.running else None

    @property
    def port(self) -> int:
        if self._port is None or not self.running:
            raise PostgresSandboxError("the sandbox PostgreSQL is not running")
        return self._port

    @property
    def url(self) -> str:
        """The libpq URL of database ``pln123`` (the server must be running)."""
        return self.url_for(DATABASE)

    def url_for(self, database: str) -> str:
        """The libpq URL of ``database`` on this server, as role ``pln123``."""
        return f"postgresql://{ROLE}@{self.host}:{self.port}/{database}"

    def server_pids(self) -> list[int]:
        """Every live process of this server: its working folder is the cluster."""
        return _pids_with_cwd(self.data_dir)

    # --------------------------------------------------------------- lifecycle
    def start(self, port: int | None = None) -> str:
        """initdb if there is no cluster yet, start the server (on ``port``, or a free
        one), return :attr:`url`."""
        self._next_port = port
        if self.running:
            raise PostgresSandboxError("the sandbox PostgreSQL is already running")
        self._claim()  # outside the try: on PostgresSandboxBusy, the server is not ours
        try:
            bindir = self._bindir()
            self._stop_stale()
            self._prepare_folders()
            if not (self.data_dir / "PG_VERSION").exists():
                self._initdb(bindir)
            self._write_conf()
            self._launch(bindir)
            self._ensure_database()
        except BaseException:
            self._kill_server()
            self._release_lock()
            raise
        atexit.register(self._atexit_stop)
        return self.url

    def stop(self) -> None:
        """Fast shutdown (open sessions are ended), then immediate, then kill."""
        atexit.unregister(self._atexit_stop)
        if self._lock_fd is None:
            return  # never started: a server on this folder is another process's
        try:
            self._kill_server()
        finally:
            self._release_lock()

    def restart(self) -> str:
        """Stop, then start again on the same port: to its clients, the same server
        coming back (a restart under load)."""
        port = self.port
        self.stop()
        return self.start(port)

    def __enter__(self) -> PostgresSandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --------------------------------------------------------------- databases
    def create_database(self, name: str) -> str:
        """Create an empty database ``name`` (from template0) and return its URL."""
        _check_database_name(name)
        with self._admin() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
            )
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, ending any session still on it."""
        _check_database_name(name)
        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def _admin(self) -> psycopg.Connection[TupleRow]:
        return psycopg.connect(self.url_for(_ADMIN_DATABASE), autocommit=True, connect_timeout=10)

    def _ensure_database(self) -> None:
        with self._admin() as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if found.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))

    # ----------------------------------------------------------------- folders
    def _claim(self) -> None:
        """Lock the base folder for this sandbox, or say who has it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / "sandbox.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise PostgresSandboxBusy(
                f"a sandbox PostgreSQL is already running on {self.folder}"
            ) from None
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _prepare_folders(self) -> None:
        """base, log/ and a clean socket folder, owned by the user the server runs as."""
        user = _service_user()
        if user is not None:
            _make_reachable(self.folder, user)
        socket_dir = self.socket_dir
        shutil.rmtree(socket_dir, ignore_errors=True)
        socket_dir.mkdir(mode=0o700)
        self.log_file.parent.mkdir(exist_ok=True)
        if user is not None:
            for path in (self.folder, socket_dir, self.log_file.parent):
                os.chown(path, user.pw_uid, user.pw_gid)

    def _bindir(self) -> Path:
        """The binaries of the cluster's major version, or the newest for a new cluster."""
        with contextlib.suppress(OSError):
            major = (self.data_dir / "PG_VERSION").read_text().strip()
            return find_bindir(self.pg_lib, major)
        return find_bindir(self.pg_lib)

    # ----------------------------------------------------------------- process
    def _initdb(self, bindir: Path) -> None:
        """Make the cluster in ``data.new`` and rename it, so a killed initdb leaves
        no half-made cluster behind for the next start to trip on."""
        fresh = self.folder / "data.new"
        shutil.rmtree(fresh, ignore_errors=True)
        cmd = [
            str(bindir / "initdb"),
            f"--pgdata={fresh}",
            f"--username={ROLE}",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-instructions",
        ]
        if self.fast:
            cmd.append("--no-sync")
        began = time.monotonic()
        self._run(cmd, timeout=120)
        with (fresh / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\n# Written by PostgresSandbox on every start.\ninclude = '{_CONF_NAME}'\n"
            )
        fresh.rename(self.data_dir)
        log.info("initdb %s in %.2f s", self.data_dir, time.monotonic() - began)

    def _write_conf(self) -> None:
        """The settings of this start: a new port, the socket folder, durability."""
        self._port, self._next_port = self._next_port or free_port(), None
        durable = "off" if self.fast else "on"
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self._port),
            "unix_socket_directories": _quote(str(self.socket_dir)),
            "max_connections": str(self.max_connections),
            "fsync": durable,
            "synchronous_commit": durable,
            "full_page_writes": durable,
        }
        text = "".join(f"{key} = {value}\n" for key, value in settings.items())
        path = self.data_dir / _CONF_NAME
        path.write_text("# Rewritten by PostgresSandbox on every start.\n" + text)
        user = _service_user()
        if user is not None:
            os.chown(path, user.pw_uid, user.pw_gid)

    def _launch(self, bindir: Path) -> None:
        began = time.monotonic()
        cmd = [
            str(bindir / "pg_ctl"),
            "start",
            "--wait",
            f"--timeout={int(self.start_timeout)}",
            "--silent",
            f"--pgdata={self.data_dir}",
            f"--log={self.log_file}",
        ]
        try:
            self._run(cmd, timeout=self.start_timeout + 5)
        finally:
            self._pid = _postmaster_pid(self.data_dir)
        log.info(
            "sandbox PostgreSQL pid %s on port %s in %.2f s",
            self._pid,
            self._port,
            time.monotonic() - began,
        )

    def _run(self, cmd: list[str], timeout: float) -> None:
        """Run a PostgreSQL program, as the service user when we are root."""
        user = _service_user()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        if user is not None:
            env["HOME"] = user.pw_dir
        try:
            result = subprocess.run(
                cmd,
                cwd=self.folder,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                check=False,
                start_new_session=True,
                user=None if user is None else user.pw_uid,
                group=None if user is None else user.pw_gid,
                extra_groups=None if user is None else [],
            )
        except subprocess.TimeoutExpired as exc:
            raise PostgresSandboxError(
                f"{cmd[0]} took over {timeout:.0f} s\n{self.log_tail()}"
            ) from exc
        if result.returncode != 0:
            output = (result.stdout + result.stderr).decode(errors="replace").strip()
            raise PostgresSandboxError(
                f"{Path(cmd[0]).name} {cmd[1]} failed ({result.returncode}): {output}\n"
                f"{self.log_tail()}"
            )

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log, for error messages."""
        try:
            text = self.log_file.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return f"--- {self.log_file}\n" + "\n".join(text)

    def _stop_stale(self) -> None:
        """Stop a server a killed earlier run left on the cluster; drop a stale pid file.

        PostgreSQL refuses to start while ``postmaster.pid`` names a live process,
        even one that merely got the dead server's process id.
        """
        pid = _postmaster_pid(self.data_dir)
        if self.server_pids():
            log.warning("stopping a stale sandbox PostgreSQL on %s (pid %s)", self.data_dir, pid)
            self._shutdown(pid)
        if pid is not None:
            with contextlib.suppress(FileNotFoundError):
                (self.data_dir / "postmaster.pid").unlink()

    def _kill_server(self) -> None:
        self._shutdown(self._pid)
        self._pid = None
        self._port = None

    def _shutdown(self, postmaster: int | None) -> None:
        """Signal the postmaster: SIGINT (fast), SIGQUIT (immediate); then SIGKILL to
        every process left on the cluster. Returns once none is left."""
        steps = ((signal.SIGINT, self.stop_timeout), (signal.SIGQUIT, 5.0))
        for signum, timeout in steps:
            if postmaster is None or not _alive(postmaster):
                break
            _signal(postmaster, signum)
            if _wait_gone([postmaster], timeout):
                break
            log.warning("sandbox PostgreSQL pid %d still up after %s", postmaster, signum.name)
        # Children of a postmaster that was killed notice it only when they next wait.
        if not _wait_gone(self.server_pids(), 2.0):
            for pid in self.server_pids():
                _signal(pid, signal.SIGKILL)
            if not _wait_gone(self.server_pids(), 5.0):
                raise PostgresSandboxError(
                    f"processes left on {self.data_dir}: {self.server_pids()}"
                )

    def _atexit_stop(self) -> None:
        with contextlib.suppress(Exception):
            self.stop_timeout = min(self.stop_timeout, 3.0)
            self.stop()


# ------------------------------------------------------------------ helpers
def _service_user() -> pwd.struct_passwd | None:
    """The ``postgres`` system user when we are root (PostgreSQL refuses root), else None."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        raise PostgresSandboxError(
            f"running as root, and there is no {SERVICE_USER!r} system user to run "
            f"PostgreSQL as: {_INSTALL_HINT}"
        ) from None


#: Where clusters go when the server's user cannot reach the project's cache (a
#: checkout under a private home folder): a folder of this project's own per checkout.
SHARED_CACHE_DIR = Path("/var/tmp/pln123-postgres")


def default_base(name: str) -> Path:
    """``.cache/postgres/<name>`` in the project, or, when the user PostgreSQL runs as
    (for root) cannot pass a folder above the project, a folder of this checkout's own
    under :data:`SHARED_CACHE_DIR`: the sandbox then works from any checkout."""
    user = _service_user()
    if user is None or _passable_above_project(user):
        return DEFAULT_CACHE_DIR / name
    checkout = hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:12]
    return SHARED_CACHE_DIR / checkout / name


def _passable_above_project(user: pwd.struct_passwd) -> bool:
    groups = set(os.getgrouplist(user.pw_name, user.pw_gid))
    return all(_can_pass(parent.stat(), user.pw_uid, groups) for parent in REPO_ROOT.parents)


def _make_reachable(folder: Path, user: pwd.struct_passwd) -> None:
    """Let ``user`` pass through every folder above ``folder``.

    Folders inside the project get ``o+x`` (pass, not list); others are left alone
    and named in the error, since loosening, say, ``/root`` is the owner's call.
    """
    groups = set(os.getgrouplist(user.pw_name, user.pw_gid))
    for parent in reversed(folder.parents):
        info = parent.stat()
        if _can_pass(info, user.pw_uid, groups):
            continue
        if parent != REPO_ROOT and not parent.is_relative_to(REPO_ROOT):
            raise PostgresSandboxError(
                f"the {user.pw_name} user, which runs PostgreSQL for root, cannot reach "
                f"{folder}: {parent} is mode {stat.S_IMODE(info.st_mode):04o}. Run "
                f"`chmod o+x {parent}` or give the sandbox a base folder it can reach"
            )
        log.info("chmod o+x %s so that the %s user can reach %s", parent, user.pw_name, folder)
        os.chmod(parent, stat.S_IMODE(info.st_mode) | stat.S_IXOTH)


def _can_pass(info: os.stat_result, uid: int, groups: set[int]) -> bool:
    if info.st_uid == uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid in groups:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def _check_database_name(name: str) -> None:
    if not _DATABASE_NAME.fullmatch(name):
        raise ValueError(f"database name {name!r}: lower-case letters, digits and _ (max 63)")


def _quote(value: str) -> str:
    """A postgresql.conf string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _postmaster_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """True for a running process; a zombie (exited, not yet reaped) counts as gone."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _pids_with_cwd(folder: Path) -> list[int]:
    """Live processes whose working folder is ``folder`` (a postmaster and its
    children chdir into the cluster; no other process has reason to)."""
    target = str(folder.resolve())
    pids = []
    for entry in _iterdir(Path("/proc")):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if os.readlink(entry / "cwd") == target and _alive(int(entry.name)):
                pids.append(int(entry.name))
    return pids


def _wait_gone(pids: list[int], timeout: float) -> bool:
    """Wait for processes that are not our children to exit (no wait() possible)."""
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _signal(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _iterdir(path: Path) -> Iterator[Path]:
    with contextlib.suppress(OSError):
        yield from path.iterdir()
