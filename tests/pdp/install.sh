#!/bin/bash
# Installs the pinned Cerbos PDP binary (npm package @cerbos/cerbos-linux-x64,
# version pinned in package.json / package-lock.json) under
# tests/pdp/node_modules and prints the binary's absolute path on stdout.
#
#   tests/pdp/install.sh            # idempotent; a fast no-op when present
#
# Needs only the npm registry. If node/npm are missing it installs Debian's
# `nodejs npm` with apt-get. Progress goes to stderr; stdout is the path alone.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
pkg=@cerbos/cerbos-linux-x64
pkgdir=$here/node_modules/$pkg
bin=$pkgdir/cerbos-linux-x64

log() { echo "pdp/install: $*" >&2; }

# The version we pin, from package.json ("@cerbos/cerbos-linux-x64": "X.Y.Z").
want=$(sed -n 's/.*"@cerbos\/cerbos-linux-x64": *"\([0-9.]*\)".*/\1/p' "$here/package.json")
[ -n "$want" ] || { log "cannot read the pinned version from $here/package.json"; exit 1; }

installed_version() {
    [ -x "$bin" ] && [ -f "$pkgdir/package.json" ] || return 0
    sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$pkgdir/package.json" | head -n1
}

if [ "$(installed_version)" = "$want" ]; then
    echo "$bin"
    exit 0
fi

case "$(uname -m)" in
    x86_64) ;;
    *) log "the pinned package $pkg is for x86_64 Linux, this is $(uname -m)"; exit 1 ;;
esac

# Serialise concurrent installs (parallel tests): npm ci wipes node_modules.
exec 9>"$here/.install.lock"
flock 9
if [ "$(installed_version)" = "$want" ]; then
    echo "$bin"
    exit 0
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    log "node/npm not found; installing Debian's nodejs and npm"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq nodejs npm >&2
fi

log "installing $pkg@$want with npm ci"
(cd "$here" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2)

got=$(installed_version)
if [ "$got" != "$want" ] || ! "$bin" --version >/dev/null 2>&1; then
    log "install failed: expected $pkg@$want at $bin, found '${got:-nothing}'"
    exit 1
fi
echo "$bin"
