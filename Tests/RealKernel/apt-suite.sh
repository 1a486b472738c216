#!/bin/bash
# apt-suite.sh SUITE DIR COMMAND [ARGS...]
#
# Runs apt-get / apt-cache against one other Debian suite (bookworm-backports, trixie, sid)
# with its own sources list and package lists under DIR, so the machine's own apt sources and
# lists are never touched. The registry is the one the machine already uses: the first
# `URIs:` (deb822) or `deb URL` line of /etc/apt/sources.list(.d) that serves bookworm; it is
# read at run time and never written into the repository.
#
#   apt-suite.sh trixie /var/cache/vgpuctl-tests/apt update
#   apt-suite.sh trixie /var/cache/vgpuctl-tests/apt download linux-image-6.12.48+deb13-amd64
#   apt-suite.sh trixie /var/cache/vgpuctl-tests/apt policy linux-image-amd64   (apt-cache)
#
# COMMAND: update | download PKG... (into the current directory) | policy|depends|show|search
# (apt-cache). `update` is run once automatically when the suite has no lists yet. Exits
# non-zero, saying why, when apt fails: a failed download fails the caller loudly.
set -euo pipefail

die() { printf 'apt-suite: ERROR: %s\n' "$*" >&2; exit 1; }
[ $# -ge 3 ] || die "usage: apt-suite.sh SUITE DIR COMMAND [ARGS...]"
SUITE=$1 DIR=$2 CMD=$3
shift 3
case "$SUITE" in
    bookworm-backports|trixie|trixie-backports|sid|unstable|forky) ;;
    *) die "unknown suite '$SUITE'" ;;
esac

# The machine's registry (never hard-coded here).
registry() {
    local f url=""
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        # The stanza whose Suites name bookworm (not bookworm-security).
        url=$(awk 'BEGIN { RS = ""; FS = "\n" }
            /Suites:[^\n]*bookworm([ \n]|$)/ {
                for (i = 1; i <= NF; i++) if ($i ~ /^URIs:/) { split($i, w, /[ \t]+/); print w[2]; exit }
            }' "$f")
        [ -n "$url" ] && { echo "$url"; return 0; }
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        url=$(awk '$1 == "deb" && $0 ~ / bookworm( |$)/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' "$f")
        [ -n "$url" ] && { echo "$url"; return 0; }
    done
    return 1
}

URL=$(registry) || die "no bookworm source in /etc/apt/sources.list(.d): cannot tell which Debian registry to use"
S=$DIR/$SUITE
mkdir -p "$S/lists/partial" "$S/cache/archives/partial"
# apt drops privileges to _apt for downloads.
chmod 0755 "$DIR" "$S" 2>/dev/null || true
chown -R _apt "$S/lists/partial" "$S/cache/archives/partial" 2>/dev/null || true
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
printf 'deb [signed-by=%s] %s %s main\n' "$KEYRING" "$URL" "$SUITE" > "$S/sources.list"
: > "$S/status"

OPTS=(
    -o "Dir::Etc::SourceList=$S/sources.list"
    -o "Dir::Etc::SourceParts=/nonexistent"
    -o "Dir::State::Lists=$S/lists"
    -o "Dir::State::status=$S/status"
    -o "Dir::Cache=$S/cache"
    -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
    -o "APT::Get::List-Cleanup=0"
    -o "Acquire::Languages=none"
    -o "APT::Architecture=amd64" -o "APT::Architectures=amd64"
)

update() {
    exec 8>"$S/.lock"
    flock 8
    apt-get "${OPTS[@]}" -q update >"$S/update.log" 2>&1 || { cat "$S/update.log" >&2; die "apt-get update for $SUITE failed"; }
    if grep -qE '^(W|E): ' "$S/update.log"; then
        cat "$S/update.log" >&2
        die "apt-get update for $SUITE reported errors"
    fi
    date +%s > "$S/updated"
}

[ -f "$S/updated" ] || [ "$CMD" = update ] || update

case "$CMD" in
    update) update ;;
    download)
        [ $# -ge 1 ] || die "download needs package names"
        apt-get "${OPTS[@]}" -q download "$@" || die "apt-get download $* from $SUITE failed"
        ;;
    policy|depends|show|search|madison|showpkg)
        apt-cache "${OPTS[@]}" "$CMD" "$@"
        ;;
    *) die "unknown command '$CMD'" ;;
esac
