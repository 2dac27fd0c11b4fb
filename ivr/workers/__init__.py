"""``pln123 serve --workers N``: one supervisor process, N call workers, one web process.

The supervisor (:mod:`ivr.workers.run`) forks the processes, restarts one that dies
(after a backoff, :mod:`ivr.workers.supervisor`), forwards SIGHUP and SIGTERM to all,
and closes the calls of a call worker that died (:mod:`ivr.workers.closing`). The call
workers share the FastAGI port (SO_REUSEPORT); the web process alone watches AMI and
serves the pages, so one Asterisk node is watched once (:class:`ivr.app.Role`).

Each call worker answers the web process on a unix socket in a private folder the
supervisor makes (:mod:`ivr.workers.endpoint`), so that ``/metrics`` shows every
worker's series, labelled ``worker`` (:mod:`ivr.ops.worker_metrics`), and ``/healthz``
each worker's health (:mod:`ivr.web.worker_peers`); :mod:`ivr.workers.health_check` is
what ``pln123-health.timer`` runs on it.
"""
