"""Which process holds a call: ``"<host>:<pid>"``, stored with each call record.

``pln123 serve`` may run several worker processes per host, and several hosts may share
one store; a process that dies leaves its calls open, and only those may be closed for
it (:func:`ivr.screenpop.recovered.close_interrupted`), never a live process's.
"""

from __future__ import annotations

import os
import socket


def this_host() -> str:
    """The host's name, as worker ids start with it."""
    return socket.gethostname()


def worker_id(pid: int | None = None) -> str:
    """The id of process ``pid`` on this host (default: this process)."""
    return f"{this_host()}:{os.getpid() if pid is None else pid}"
