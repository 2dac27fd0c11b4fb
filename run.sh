#!/usr/bin/env bash
# Set up (first time) and run the IVR: prompts rendered, the sandbox Asterisk and `pln123 up`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash scripts/setup.sh
./.venv/bin/pln123 demo seed
./.venv/bin/pln123 prompts build
exec .venv/bin/pln123 up
