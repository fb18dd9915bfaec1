#!/usr/bin/env bash
# Build bash 4.2 (the oldest bash test_serving.sh supports: CentOS 7's) once, and print its path.
#
#   OLD_BASH="$(bash tools/oldbash/build.sh)"      # about a minute the first time, then cached
#
# The source is GNU bash 4.2 at patch level 45 (GPLv3, COPYING inside), from the public git mirror
# github.com/bminor/bash (commit f281b8f4, "Bash-4.2 patch 45"), trimmed of docs, translations, examples
# and tests: no registry this project can reach offers a bash 4 binary or source. It is used only to run
# the harness's shell code in tests (tests/test_old_bash.py); 4.2.45 predates the 2014 Shellshock fixes,
# so it must not be used for anything else.
# Cache: ${TIPC_OLDBASH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tipc-serving/oldbash}/<sha256 prefix>/bash.
# Needs a C compiler and make; the build log is shown on failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TARBALL="$HERE/bash-4.2.45-trimmed.tar.xz"
KEY="$(sha256sum "$TARBALL" | cut -c1-16)"
CACHE="${TIPC_OLDBASH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tipc-serving/oldbash}/$KEY"

if [[ -x "$CACHE/bash" ]] && "$CACHE/bash" -c 'exit 0' 2>/dev/null; then
    echo "$CACHE/bash"
    exit 0
fi
if ! command -v make >/dev/null || ! command -v "${CC:-cc}" >/dev/null; then
    echo "oldbash: error: building bash 4.2 needs make and a C compiler (${CC:-cc})" >&2
    exit 1
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
tar -xJf "$TARBALL" -C "$WORK"
SOURCE="$WORK/bash-4.2.45"
# K&R-era C: gcc 14 makes implicit declarations errors unless told otherwise. bash's own malloc
# misbehaves with current glibc, so the system one is used.
if ! (cd "$SOURCE" && CFLAGS="-O2 -std=gnu89 -Wno-implicit-function-declaration -Wno-int-conversion \
        -Wno-incompatible-pointer-types" ./configure --without-bash-malloc --disable-nls >"$WORK/build.log" 2>&1 \
        && make -j"$(nproc)" bash >>"$WORK/build.log" 2>&1); then
    tail -n 40 "$WORK/build.log" >&2
    echo "oldbash: error: the build of bash 4.2 failed (see above)" >&2
    exit 1
fi
mkdir -p "$CACHE"
install -m 0755 "$SOURCE/bash" "$CACHE/bash.$$"
mv -f "$CACHE/bash.$$" "$CACHE/bash"
echo "$CACHE/bash"
