#!/usr/bin/env bash
# Set up everything the IVR needs on a fresh Debian machine, idempotently:
#   - Debian packages (debootstrap for the Asterisk sandbox, graphviz for flow pictures,
#     chromium for the screen-pop page's browser tests, espeak-ng and sox for the
#     prompts pyttsx3 renders, postgresql for the sandbox PostgreSQL: only its
#     binaries are used; the sandbox never needs the cluster service Debian sets up)
#   - a virtualenv in .venv with the project and its dev tools
#   - the sandbox Asterisk root under .cache/asterisk/root (Debian unstable, built once)
#   - pln123.toml (kept out of git) with a random AMI secret and SIP password, and two
#     demo CSOs (cso1, cso2) and a demo ops user (ops1) with random page tokens
# Needs root for apt-get and debootstrap.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

need_apt=()
command -v debootstrap >/dev/null 2>&1 || need_apt+=(debootstrap)
command -v dot >/dev/null 2>&1 || need_apt+=(graphviz)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v espeak-ng >/dev/null 2>&1 || need_apt+=(espeak-ng)
command -v sox >/dev/null 2>&1 || need_apt+=(sox)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need_apt+=(postgresql)
if ((${#need_apt[@]})); then
    log "installing Debian packages: ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [[ ! -x .venv/bin/python ]]; then
    log "creating .venv"
    python3 -m venv .venv
fi
if ! .venv/bin/python -c "import ivr, pytest, ruff" >/dev/null 2>&1 \
        || [[ pyproject.toml -nt .venv/.installed ]]; then
    log "installing the project into .venv"
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -e '.[dev]'
    touch .venv/.installed
fi

log "provisioning the sandbox Asterisk (the first time takes a minute or two)"
bash scripts/provision-asterisk.sh

if [[ ! -f pln123.toml ]]; then
    log "writing pln123.toml with a fresh AMI secret and SIP password"
    umask 077
    cat > pln123.toml <<TOML
# Local configuration of the PLN 123 IVR. Not in git: it holds secrets.
sip_password = "$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12))')"

[ami]
secret = "$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(24))')"
TOML
fi
if ! grep -q '^\[agents\.' pln123.toml; then
    log "adding demo CSOs cso1 and cso2 (auto-answering test phones) to pln123.toml"
    token() { .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12))'; }
    cat >> pln123.toml <<TOML

# CSOs of the screen-pop page (http://127.0.0.1:8123/agent). The demo phones are
# Local/ channels that answer by themselves; a real CSO has interface = "PJSIP/<id>".
[agents.cso1]
name = "CSO 1"
token = "$(token)"
interface = "Local/cso1@pln123-test-agents/n"
queues = ["periksa", "status", "tambah_daya", "pln_mobile", "umum"]

[agents.cso2]
name = "CSO 2"
token = "$(token)"
interface = "Local/cso2@pln123-test-agents/n"
queues = ["periksa", "status", "tambah_daya", "pln_mobile", "umum"]
penalty = 1
TOML
fi
if ! grep -q '^\[ops\.' pln123.toml; then
    log "adding the demo ops user ops1 to pln123.toml"
    cat >> pln123.toml <<TOML

# Operations users of the ops page (http://127.0.0.1:8123/ops): statistics, no calls.
[ops.ops1]
name = "Ops 1"
token = "$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(18))')"
TOML
fi
log "ready"
