"""The allocator tuning: glibc takes it; its effect is measured by ``pln123 bench agi``."""

from __future__ import annotations

import platform

from ivr.tuning import tune_allocator


def test_glibc_takes_the_thresholds() -> None:
    assert tune_allocator() is (platform.libc_ver()[0] == "glibc")
