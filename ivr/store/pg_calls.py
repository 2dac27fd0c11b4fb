"""Call records on a PostgreSQL server, written through psycopg's asynchronous pool.

The contract is :class:`~ivr.store.calls.CallStore`'s: once ``record_answer`` returns,
the answer is committed on the server, so a worker killed the next moment loses
nothing the caller was told was taken. What changes is how a write waits: SQLite
writes on the event loop's thread in microseconds; a server is a round trip away, so
each write is awaited on a pooled connection while the other calls go on, and a server
that is slow or gone holds up only the call that writes (at most
:data:`WRITE_TIMEOUT` seconds), never the loop.

A write that fails because the server cannot be used (restarting, unreachable, out of
connections, timed out) is kept in memory in order with every later one, exactly as
the SQLite store does: the call in progress and new calls go to a CSO, and the kept
writes are replayed once the server answers again. Reads (the call summary, the
embedded backends sharing :attr:`connection`) use one blocking connection.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from ivr.store.calls import (
    REPLAY_BATCH,
    CallStore,
    Write,
    execute_write,
    needs_transaction,
    rollback_quietly,
)
from ivr.store.dbapi import DatabaseError, describe, store_failing
from ivr.store.health import LOOP_BUSY_MS
from ivr.store.postgres import CONNECT_TIMEOUT, PgConnection, pg_sql
from ivr.store.schema import migrate

log = logging.getLogger(__name__)

#: Seconds one write may take, waiting for a pooled connection included, before the
#: store counts as failing and the call goes to a CSO.
WRITE_TIMEOUT = 1.0


async def _run(conn: psycopg.AsyncConnection[Any], write: Write) -> None:
    sql, params, many = write
    if many:
        async with conn.cursor() as cursor:
            await cursor.executemany(pg_sql(sql), params)
    else:
        await conn.execute(pg_sql(sql), params)


class PgCallStore(CallStore):
    """The call store on a PostgreSQL server (``[store] url``)."""

    def __init__(self, url: str, pool_size: int = 4, retry_seconds: float = 1.0) -> None:
        # Not CallStore.__init__: no file, no checkpointer. What it keeps is the same.
        self.url = url
        self.location = url
        self._checkpointer = None
        self._init_state(f"call store {describe(url)}", retry_seconds)
        self._tasks: set[asyncio.Task[None]] = set()
        self._conn = PgConnection(url, LOOP_BUSY_MS)
        migrate(self._conn)
        self._pool = AsyncConnectionPool(
            url,
            min_size=pool_size,
            max_size=pool_size,
            open=False,
            timeout=WRITE_TIMEOUT,
            reconnect_timeout=0,  # a server that is down is retried for ever
            kwargs={
                "autocommit": True,
                "connect_timeout": CONNECT_TIMEOUT,
                "application_name": "pln123",
                "options": f"-c statement_timeout={int(WRITE_TIMEOUT * 1000)}",
            },
        )
        self._pool_open = False

    # -- writing ----------------------------------------------------------------------

    async def _pool_ready(self) -> AsyncConnectionPool:
        if not self._pool_open:
            self._pool_open = True
            await self._pool.open(wait=False)
        return self._pool

    async def _store(self, *writes: Write) -> bool:
        if self._kept:
            self._keep(writes)
            return False
        try:
            async with asyncio.timeout(WRITE_TIMEOUT):
                pool = await self._pool_ready()
                async with pool.connection() as conn:
                    if needs_transaction(writes):
                        async with conn.transaction():
                            for write in writes:
                                await _run(conn, write)
                    else:
                        await _run(conn, writes[0])
        except (TimeoutError, psycopg.Error) as exc:
            if isinstance(exc, psycopg.Error) and not store_failing(exc):
                raise
            self._keep(writes)
            self.health.failed(_why(exc))
            self._schedule_retry()
            return False
        return True

    def flush_exits(self) -> None:
        """Write the node exits kept so far, in one transaction, without waiting."""
        exits = self._take_exits()
        if exits is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._keep([exits])  # no loop (closing): close() writes them
            return
        task = loop.create_task(self._store_exits(exits))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _store_exits(self, exits: Write) -> None:
        await self._store(exits)

    def _retry(self) -> None:
        self._retry_timer = None
        task = asyncio.get_running_loop().create_task(self._retry_batch())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _retry_batch(self) -> None:
        if not await self._areplay(REPLAY_BATCH):
            self._schedule_retry()
        elif self._kept:
            self._schedule_retry(0.0)

    async def _areplay(self, count: int) -> bool:
        """Store up to ``count`` kept writes in one transaction; False when the server
        still fails. A kept write that is itself wrong is dropped with a log line."""
        batch = [self._kept[i] for i in range(min(count, len(self._kept)))]
        try:
            async with asyncio.timeout(WRITE_TIMEOUT * 5):
                pool = await self._pool_ready()
                async with pool.connection() as conn, conn.transaction():
                    for write in batch:
                        try:
                            async with conn.transaction():  # a savepoint per write
                                await _run(conn, write)
                        except psycopg.Error as exc:
                            if store_failing(exc):
                                raise
                            log.error("call store: a kept write is refused (%s): %s", exc, write[0])
        except (TimeoutError, psycopg.Error) as exc:
            self.health.reason = _why(exc)
            return False
        self._stored(len(batch))
        return True

    def _replay(self, count: int) -> bool:
        """Store up to ``count`` kept writes on the blocking connection (at close), all
        or none: a statement that fails aborts a PostgreSQL transaction, so a wrong
        write cannot be skipped here as SQLite's replay does."""
        batch = [self._kept[i] for i in range(min(count, len(self._kept)))]
        conn = self._conn
        try:
            conn.execute("BEGIN")
            for write in batch:
                execute_write(conn, write)
            conn.execute("COMMIT")
        except DatabaseError as exc:
            rollback_quietly(conn)
            self.health.reason = _why(exc)
            return False
        self._stored(len(batch))
        return True

    async def drain(self) -> None:
        """Write the exits still pending, wait for writes in flight, close the pool."""
        self.flush_exits()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._pool_open:
            await self._pool.close()
            self._pool_open = False

    def close(self) -> None:
        """Write what is pending over the blocking connection; what the server never
        took is logged (there is no file to save it beside)."""
        if self._exits:
            exits = self._take_exits()
            if exits is not None:
                self._keep([exits])
        if self._retry_timer is not None:
            self._retry_timer.cancel()
            self._retry_timer = None
        if self._kept:
            self._replay(len(self._kept))
        if self._kept:
            log.error(
                "call store: %d writes never stored on %s (%s)",
                len(self._kept),
                describe(self.url),
                self.health.reason,
            )
        self._conn.close()

    def checkpoint(self) -> None:
        """Nothing to do: the server checkpoints by itself."""


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {WRITE_TIMEOUT:g} s"
    return f"{type(exc).__name__}: {str(exc).strip()}"
