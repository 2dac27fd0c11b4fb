"""Measure how many wrong logins an attacker gets through the login throttle.

Starts the real web server (:func:`ivr.web.server.make_app` on a free loopback port,
the default ``[web]`` login settings unless told otherwise) and sends wrong tokens over
HTTP with aiohttp, as fast as one connection allows, in three ways:

- ``address``: one address guessing one agent's token;
- ``spray``: one address trying a different id each time (only the per-address
  limit holds it);
- ``account``: a new address each time (``X-Forwarded-For`` through a trusted proxy)
  against one agent (only the per-account limit holds it).

A guess counts when the server checked it (a ``303`` back to the login); ``429`` is
refused unchecked. ``--virtual`` runs the server on a clock that moves
``--step`` seconds per request, so an hour is measured in seconds::

    .venv/bin/python -m ivr.tools.login_probe --seconds 60          # real time
    .venv/bin/python -m ivr.tools.login_probe --virtual --seconds 3600
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from pydantic import SecretStr

from ivr.config import AgentSettings, WebSettings
from ivr.screenpop.hub import PopHub
from ivr.store.pops import PopStore
from ivr.web.server import OpsSite, WebServer, make_app

MODES = ("address", "spray", "account")


@dataclass
class Result:
    mode: str
    seconds: float
    sent: int
    guesses: int
    first_minute: int

    def line(self) -> str:
        rest = self.guesses - self.first_minute
        later = rest / ((self.seconds - 60) / 60) if self.seconds > 60 else float("nan")
        return (
            f"{self.mode:8} {self.seconds:7.0f} s  sent {self.sent:7d}"
            f" ({self.sent / self.seconds:7.1f}/s)"
            f"  guesses checked {self.guesses:5d}: {self.first_minute} in the first minute,"
            f" then {later:.2f}/min"
        )


class VirtualClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def probe(
    mode: str, seconds: float, settings: WebSettings, virtual: bool, step: float
) -> Result:
    """One attack against a fresh server."""
    token = secrets.token_urlsafe(24)
    agents = {"cso1": AgentSettings(name="CSO 1", token=SecretStr(token))}
    clock = VirtualClock()
    server_clock: Callable[[], float] = clock if virtual else time.time
    if mode == "account":
        settings = settings.model_copy(update={"behind_tls_proxy": True})
    with tempfile.TemporaryDirectory() as folder:
        store = PopStore(Path(folder) / "pops.sqlite3")
        hub = PopHub(store, agents, "Asia/Jakarta")
        app = make_app(hub, agents, dict, OpsSite(), settings, clock=server_clock)
        web_server = WebServer(app, "127.0.0.1", 0)
        await web_server.start()
        url = f"http://127.0.0.1:{web_server.port}/login"
        sent = guesses = first_minute = 0
        start = time.monotonic()

        def elapsed() -> float:
            return clock.now - 1_800_000_000.0 if virtual else time.monotonic() - start

        try:
            async with aiohttp.ClientSession() as session:
                while elapsed() < seconds:
                    agent = f"cso{sent}" if mode == "spray" else "cso1"
                    headers = (
                        {"X-Forwarded-For": f"10.{sent >> 16 & 255}.{sent >> 8 & 255}.{sent & 255}"}
                        if mode == "account"
                        else {}
                    )
                    response = await session.post(
                        url,
                        data={"agent": agent, "token": secrets.token_urlsafe(12)},
                        headers=headers,
                        allow_redirects=False,
                    )
                    await response.read()
                    sent += 1
                    if response.status == 303:
                        guesses += 1
                        if elapsed() < 60:
                            first_minute += 1
                    elif response.status != 429:
                        raise RuntimeError(f"unexpected HTTP {response.status}")
                    if virtual:
                        clock.now += step
        finally:
            await web_server.stop()
            await hub.close()
            store.close()
    return Result(mode, elapsed(), sent, guesses, first_minute)


async def main_async(args: argparse.Namespace) -> None:
    settings = WebSettings()
    print(
        f"[web] login_address_burst={settings.login_address_burst}"
        f" login_address_per_minute={settings.login_address_per_minute}"
        f" login_account_burst={settings.login_account_burst}"
        f" login_account_per_minute={settings.login_account_per_minute}"
        + (f"  (virtual clock, {args.step} s per request)" if args.virtual else "  (real time)")
    )
    runs = [probe(mode, args.seconds, settings, args.virtual, args.step) for mode in args.modes]
    for result in await asyncio.gather(*runs):
        print(result.line())


def main() -> None:
    logging.basicConfig(level=logging.ERROR)  # not a line per wrong login
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each attack")
    parser.add_argument("--virtual", action="store_true", help="a simulated clock")
    parser.add_argument("--step", type=float, default=0.01, help="virtual seconds per request")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
