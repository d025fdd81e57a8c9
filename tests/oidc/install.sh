#!/bin/bash
# Installs the pinned OpenID provider (npm package oidc-provider, version
# pinned in package.json / package-lock.json) under tests/oidc/node_modules
# and prints the path of tests/oidc/provider.mjs on stdout.
#
#   tests/oidc/install.sh            # idempotent; a fast no-op when present
#
# Needs only the npm registry, and Node.js 20 or later (oidc-provider 9 warns
# below Node 22 but works on 20; Debian 12's own nodejs 18 is too old). If
# node/npm are missing it installs Debian's `nodejs npm` with apt-get, and
# then refuses if that node is older than 20. Progress goes to stderr;
# stdout is the path alone.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
pkg=oidc-provider
pkgdir=$here/node_modules/$pkg

log() { echo "oidc/install: $*" >&2; }

# The version we pin, from package.json ("oidc-provider": "X.Y.Z").
want=$(sed -n 's/.*"oidc-provider": *"\([0-9.]*\)".*/\1/p' "$here/package.json")
[ -n "$want" ] || { log "cannot read the pinned version from $here/package.json"; exit 1; }

installed_version() {
    [ -f "$pkgdir/package.json" ] || return 0
    sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$pkgdir/package.json" | head -n1
}

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

check_node() {
    if [ "$(node_major)" -lt 20 ]; then
        log "oidc-provider $want needs Node.js 20 or later; $(command -v node) is $(node --version 2>/dev/null)"
        exit 1
    fi
}

if [ "$(installed_version)" = "$want" ]; then
    check_node
    echo "$here/provider.mjs"
    exit 0
fi

# Serialise concurrent installs (parallel tests): npm ci wipes node_modules.
exec 9>"$here/.install.lock"
flock 9
if [ "$(installed_version)" = "$want" ]; then
    check_node
    echo "$here/provider.mjs"
    exit 0
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    log "node/npm not found; installing Debian's nodejs and npm"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq nodejs npm >&2
fi
check_node

log "installing $pkg@$want with npm ci"
(cd "$here" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2)

got=$(installed_version)
if [ "$got" != "$want" ] || ! (cd "$here" && node -e 'import("oidc-provider")' >/dev/null 2>&1); then
    log "install failed: expected $pkg@$want in $pkgdir, found '${got:-nothing}'"
    exit 1
fi
echo "$here/provider.mjs"
