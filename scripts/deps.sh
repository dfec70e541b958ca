#!/bin/sh
# Installs the Debian packages allot needs to build, test and benchmark.
# Idempotent: packages already present are skipped; nothing is done when all
# are there. Runs apt-get as root (or via sudo when available).
set -eu

PKGS="build-essential pkg-config clang libclang-rt-14-dev clang-format
libjansson-dev libcmocka-dev libzstd-dev libxxhash-dev libsqlite3-dev
libmicrohttpd-dev libcurl4-openssl-dev libinih-dev valgrind
chromium curl"
# the dashboard's build and browser tests: node and npm (uPlot and
# playwright-core come from npm, see web/package.json); a node that came
# another way (e.g. with its own npm) is kept
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    PKGS="$PKGS nodejs npm"
fi

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "deps: need root (or sudo) to install:$missing" >&2; exit 1; fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
