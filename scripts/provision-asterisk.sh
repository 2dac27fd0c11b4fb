#!/usr/bin/env bash
# Provision the Asterisk used by the PLN 123 IVR's end-to-end tests.
#
#   scripts/provision-asterisk.sh [ROOT]
#
# ROOT defaults to .cache/asterisk/root under the repository. It becomes a
# minimal Debian unstable ("sid") root with Debian's Asterisk package, built
# with debootstrap; the sandbox runs it with `chroot ROOT asterisk ...`.
# Asterisk is not in Debian stable, hence sid.
#
# - Idempotent: if ROOT/usr/sbin/asterisk exists, exits 0 at once.
# - The root is built in ROOT.tmp.<pid> and renamed to ROOT only when the build
#   succeeded, so a killed build never leaves a root that looks finished.
#   Concurrent runs for the same ROOT wait for each other (flock on ROOT.lock).
# - The Debian mirror is read at run time from this machine's apt sources
#   (/etc/apt/sources.list.d/*.sources "URIs:", or /etc/apt/sources.list "deb"
#   lines); set PLN123_DEBIAN_MIRROR to override. No mirror is written here.
# - System Asterisk: if PLN123_ASTERISK_BIN is set, or ROOT is "system", no
#   root is built; the script only checks that the binary exists.
#
# Needs root (debootstrap, chroot). Log: <dirname ROOT>/debootstrap.log
set -euo pipefail

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root_arg="${1:-$repo_dir/.cache/asterisk/root}"

log() { printf 'provision-asterisk: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- system Asterisk -------------------------------------------------------
if [[ -n "${PLN123_ASTERISK_BIN:-}" || "$root_arg" == "system" ]]; then
    bin="${PLN123_ASTERISK_BIN:-asterisk}"
    if command -v "$bin" >/dev/null 2>&1; then
        log "using system Asterisk: $(command -v "$bin")"
        exit 0
    fi
    die "system Asterisk '$bin' not found on PATH (install it, or unset PLN123_ASTERISK_BIN and pass a ROOT)"
fi

# --- chroot root -------------------------------------------------------------
mkdir -p "$(dirname "$root_arg")"
ROOT="$(cd "$(dirname "$root_arg")" && pwd)/$(basename "$root_arg")"

if [[ -x "$ROOT/usr/sbin/asterisk" ]]; then
    exit 0
fi

[[ "$(id -u)" == 0 ]] || die "building $ROOT needs root (debootstrap and chroot)"

# First URI of the machine's apt sources that is not a security archive.
find_mirror() {
    if [[ -n "${PLN123_DEBIAN_MIRROR:-}" ]]; then
        printf '%s\n' "${PLN123_DEBIAN_MIRROR%/}"
        return 0
    fi
    local uri
    uri="$(
        {
            shopt -s nullglob
            for f in /etc/apt/sources.list.d/*.sources; do
                awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f"
            done
            for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
                [[ -f "$f" ]] || continue
                # deb [opts] URI suite ...  (options in brackets are skipped)
                sed -n -E 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p' "$f"
            done
        } | grep -E '^(https?|file)://' | grep -v -i 'security' | head -n 1
    )" || true
    [[ -n "$uri" ]] || return 1
    printf '%s\n' "${uri%/}"
}

# Unmount anything left mounted below $1 (a killed debootstrap leaves /proc,
# /sys mounted in its target), then delete it without crossing filesystems.
remove_tree() {
    local dir="$1" m
    [[ -e "$dir" ]] || return 0
    while read -r m; do
        umount -l "$m" 2>/dev/null || true
    done < <(awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r)
    rm -rf --one-file-system "$dir"
}

exec 9>"$ROOT.lock"
if ! flock -n 9; then
    log "another provisioning of $ROOT is running; waiting for it"
    flock 9
fi
# Someone else may have finished the job while we waited.
if [[ -x "$ROOT/usr/sbin/asterisk" ]]; then
    exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
    log "installing debootstrap"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y debootstrap >&2 || { apt-get update >&2 && apt-get install -y debootstrap >&2; }
fi

mirror="$(find_mirror)" || die "no Debian mirror found in the apt sources; set PLN123_DEBIAN_MIRROR"

# Leftovers of killed builds; ROOT itself only if it is an unfinished build.
for stale in "$ROOT".tmp.*; do
    [[ -e "$stale" ]] && { log "removing stale build $stale"; remove_tree "$stale"; }
done
if [[ -e "$ROOT" ]]; then
    log "removing unfinished root $ROOT (no usr/sbin/asterisk in it)"
    remove_tree "$ROOT"
fi

tmp="$ROOT.tmp.$$"
logfile="$(dirname "$ROOT")/debootstrap.log"
trap 'remove_tree "$tmp"' EXIT
log "building $ROOT with debootstrap (log: $logfile); about a minute"
start=$SECONDS
if ! debootstrap --variant=minbase --include=asterisk,asterisk-moh-opsound-gsm \
        sid "$tmp" "$mirror" >"$logfile" 2>&1; then
    tail -n 20 "$logfile" >&2 || true
    die "debootstrap failed (see $logfile)"
fi
[[ -x "$tmp/usr/sbin/asterisk" ]] || die "debootstrap finished but $tmp/usr/sbin/asterisk is missing"
# debootstrap unmounts what it mounted; make sure, before the rename.
remove_mounts_only() {
    local m
    while read -r m; do umount -l "$m" 2>/dev/null || true; done \
        < <(awk -v d="$tmp/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r)
}
remove_mounts_only
mv -T "$tmp" "$ROOT"
trap - EXIT
log "done in $((SECONDS - start)) s: $ROOT"
