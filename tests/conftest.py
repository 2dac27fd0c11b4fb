"""Settings for every test: never the developer's ``pln123.toml``.

``./run.sh`` writes a ``pln123.toml`` in the checkout (secrets, demo CSOs); a test that
built ``Settings()`` from it would depend on that machine. An empty ``PLN123_CONFIG``
means "no config file"; tests about the file set it themselves.
"""

from __future__ import annotations

import os

pytest_plugins = ["tests.postgres_fixture"]

os.environ["PLN123_CONFIG"] = ""
