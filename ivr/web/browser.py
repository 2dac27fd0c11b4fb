"""Debian's Chromium, headless, as the page's tests and ``pln123 bench screenpop`` run it.

No browser is downloaded: Playwright drives ``/usr/bin/chromium`` (``apt install
chromium``). The flags keep it from reaching for the network, which this kind of
machine refuses, and let it run as root in a container.
"""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("PLN123_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
