"""A scenario's ``at:``: the moment its call happens.

In the simulator the call's clock is fixed at ``at`` (greeting, queue opening hours,
holidays all follow it). A real call through the sandbox Asterisk carries it in the
channel variable ``PLN123_TEST_AT``, which a sandbox IVR (``[agi] test_clock``) runs
the call at (:func:`ivr.app.moment_clock`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable


def fixed_clock(at: dt.datetime) -> Callable[[], dt.datetime]:
    """A clock that always says ``at``: a simulated call takes no time."""
    return lambda: at
