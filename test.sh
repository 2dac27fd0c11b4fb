#!/usr/bin/env bash
# Set up (first time) and run every check: lint, types, and all tests including the
# end-to-end tests through the sandbox Asterisk.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash scripts/setup.sh
.venv/bin/ruff check ivr tests
.venv/bin/mypy
exec .venv/bin/pytest -ra "$@"
