"""A typed async channel: one method per AGI command the IVR uses.

Each method sends one command through panoramisk's request, waits for the answer
within a time limit, and either returns a typed value or raises one of
:mod:`ivr.agi.errors`. Raising is the default; there are no magic return values.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, NamedTuple

from ivr.agi.deadlines import Deadline, Watchdog
from ivr.agi.errors import (
    AgiCommandFailed,
    AgiError,
    AgiInvalidCommand,
    AgiProtocolError,
    AgiTimeout,
    CallerHungUp,
)
from ivr.agi.request import AgiRequest

ALL_KEYS = "0123456789*#"


class StreamResult(NamedTuple):
    """How a STREAM FILE ended: the key that interrupted it (if any) and where."""

    key: str | None
    endpos: int


def quote(arg: str) -> str:
    """One AGI argument, quoted so spaces and quotes survive Asterisk's parser."""
    if '"' not in arg and "\\" not in arg and "\n" not in arg and "\r" not in arg:
        return f'"{arg}"'  # nearly always: sound names, keys, variable values
    if "\n" in arg or "\r" in arg:
        raise ValueError("AGI arguments cannot hold line breaks")
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


class AgiChannel:
    """The call as Asterisk sees it, driven by AGI commands."""

    def __init__(
        self,
        request: AgiRequest,
        command_timeout: float = 10.0,
        watchdog: Watchdog | None = None,
    ) -> None:
        self._request = request
        self._command_timeout = command_timeout
        self._hung_up = False
        self._watchdog = watchdog
        self._deadline = Deadline()
        self._loop_time = asyncio.get_running_loop().time
        if watchdog is not None:
            watchdog.watch(self._deadline)
        self.headers: dict[str, str] = request.headers

    def release(self) -> None:
        """The call is over: stop watching its deadlines."""
        if self._watchdog is not None:
            self._watchdog.forget(self._deadline)

    # -- plumbing ---------------------------------------------------------------------

    @property
    def hung_up(self) -> bool:
        """True once the call is known to be gone."""
        return self._hung_up

    async def send(self, command: str, wait: float = 0.0) -> dict[str, Any]:
        """Send one command; return panoramisk's parsed result or raise.

        ``wait`` is how long the command itself may legitimately take (a prompt, a
        digit timeout); the answer is awaited that long plus the command timeout,
        under the server's watchdog (or a timer of its own without one).
        """
        if self._hung_up:
            raise CallerHungUp("call already ended")
        limit = wait + self._command_timeout
        deadline = self._deadline
        task = None
        try:
            if self._watchdog is None:
                async with asyncio.timeout(limit):
                    result: dict[str, Any] = await self._request.send_command(command)
            else:
                task = asyncio.current_task()
                deadline.task, deadline.expired = task, False
                deadline.when = self._loop_time() + limit
                result = await self._request.send_command(command)
        except asyncio.CancelledError:
            # Our own watchdog's cancel becomes a timeout; anyone else's stays a cancel.
            if task is not None and deadline.expired and task.uncancel() == 0:
                raise AgiTimeout(f"no answer to {command!r} in {limit}s") from None
            raise
        except TimeoutError as exc:
            raise AgiTimeout(f"no answer to {command!r} in {limit}s") from exc
        except CallerHungUp:
            self._hung_up = True
            raise
        except ConnectionError as exc:
            self._hung_up = True
            raise CallerHungUp(f"connection lost: {exc}") from exc
        finally:
            deadline.when = deadline.task = None
        error = result.get("error")
        if error is None:
            return result
        return await self._raise_for(command, result, error)

    async def _raise_for(self, command: str, result: dict[str, Any], error: str) -> dict[str, Any]:
        line = str(result.get("msg") or result.get("line") or error)
        if error == "AGIResultHangup":
            self._hung_up = True
            raise CallerHungUp(line)
        if error == "AGIUnknownError" and result.get("status_code") == 511:
            # 511: command not permitted on a dead channel.
            self._hung_up = True
            raise CallerHungUp(line)
        if error == "AGIUsageError":
            raise AgiInvalidCommand(command, line)
        if error == "AGIInvalidCommand":
            raise AgiInvalidCommand(command, line)
        if error == "AGIAppError":
            # result=-1 means "failed, or the caller hung up"; ask which.
            if await self._channel_gone():
                self._hung_up = True
                raise CallerHungUp(f"{command!r}: caller hung up")
            raise AgiCommandFailed(command, line)
        raise AgiProtocolError(f"{command!r}: unexpected answer {line!r}")

    async def _channel_gone(self) -> bool:
        try:
            async with asyncio.timeout(self._command_timeout):
                status = await self._request.send_command("CHANNEL STATUS")
        except (CallerHungUp, TimeoutError, ConnectionError):
            return True
        return status.get("error") in ("AGIResultHangup", "AGIUnknownError", "AGIAppError")

    @staticmethod
    def _result(result: dict[str, Any]) -> str:
        value, _data = result.get("result", ("", ""))
        return str(value)

    @staticmethod
    def _key(result: dict[str, Any]) -> str | None:
        """The key a result names by its code (``result=55`` is '7'); None for 0."""
        code = result.get("result", ("", ""))[0]
        number = int(code) if code.isdigit() else 0
        return chr(number) if number > 0 else None

    # -- commands ---------------------------------------------------------------------

    async def answer(self) -> None:
        """Answer the call (harmless when the dialplan already did)."""
        await self.send("ANSWER")

    async def stream_file(
        self, name: str, escape_digits: str = "", max_seconds: float = 180.0
    ) -> StreamResult:
        """Play a sound file; stop early when the caller presses an escape digit.

        A file Asterisk cannot find plays nothing and raises
        :class:`AgiCommandFailed`.
        """
        result = await self.send(
            f"STREAM FILE {quote(name)} {quote(escape_digits)}", wait=max_seconds
        )
        endpos = result.get("endpos")
        return StreamResult(
            self._key(result),
            int(endpos[0]) if endpos is not None and endpos[0].isdigit() else 0,
        )

    async def wait_for_digit(self, timeout: float) -> str | None:
        """The next key the caller presses within ``timeout`` seconds, or None."""
        ms = max(1, int(timeout * 1000))
        result = await self.send(f"WAIT FOR DIGIT {ms}", wait=timeout)
        return self._key(result)

    async def get_data(self, name: str, timeout: float, max_digits: int) -> tuple[str, bool]:
        """Play ``name`` and collect up to ``max_digits`` keys (``#`` ends early).

        Returns the digits and whether the wait timed out.
        """
        ms = max(1, int(timeout * 1000))
        result = await self.send(
            f"GET DATA {quote(name)} {ms} {max_digits}", wait=timeout * (max_digits + 1) + 180
        )
        value, data = result.get("result", ("", ""))
        # panoramisk drops "(timeout)" when the value is empty: "200 result= (timeout)".
        timed_out = data == "timeout" or str(result.get("raw", "")).endswith("(timeout)")
        return str(value), timed_out

    async def say_digits(self, digits: str, escape_digits: str = "") -> str | None:
        """Speak digits one by one with Asterisk's own sounds."""
        if not digits.isdigit():
            raise ValueError(f"not digits: {digits!r}")
        result = await self.send(f"SAY DIGITS {digits} {quote(escape_digits)}", wait=60)
        return self._key(result)

    async def say_number(self, number: int, escape_digits: str = "") -> str | None:
        """Speak a whole number with Asterisk's own sounds."""
        result = await self.send(f"SAY NUMBER {int(number)} {quote(escape_digits)}", wait=60)
        return self._key(result)

    async def set_variable(self, name: str, value: str) -> None:
        """Set a channel variable."""
        await self.send(f"SET VARIABLE {quote(name)} {quote(value)}")

    async def get_variable(self, name: str) -> str | None:
        """A channel variable's value, or None when it is not set."""
        result = await self.send(f"GET VARIABLE {quote(name)}")
        code, data = result.get("result", ("0", ""))
        return str(data) if code == "1" else None

    async def exec(self, application: str, args: str = "") -> int:
        """Run a dialplan application; its numeric result."""
        result = await self.send(f"EXEC {application} {quote(args)}", wait=60)
        code = self._result(result)
        return int(code) if code.lstrip("-").isdigit() else 0

    async def verbose(self, message: str, level: int = 1) -> None:
        """Write to Asterisk's verbose log."""
        await self.send(f"VERBOSE {quote(message)} {level}")

    async def hangup(self) -> None:
        """Hang the call up. A call that is already gone is not an error."""
        if self._hung_up:
            return
        with contextlib.suppress(AgiError):
            await self.send("HANGUP")
        self._hung_up = True
