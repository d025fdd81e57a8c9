#!/bin/bash
# bench/nss_in_ns.sh DIR MODULE SOURCES LOOKUP COUNT — run by bench/nss.sh
# inside `unshare --mount`: puts MODULE where glibc loads NSS modules and
# DIR/nss-table at the module's table path (both on overlays over a tmpfs,
# so the host is not written), points passwd and group at SOURCES, then
# runs LOOKUP COUNT.
set -euo pipefail
dir=$1 module=$2 sources=$3 lookup=$4 count=$5

libdir=$(dirname "$(readlink -f "$(ldd /bin/sh | awk '$1 == "libc.so.6" { print $3 }')")")
for d in "$libdir" /var/lib; do
    top=$(mktemp -d "$dir/ovl.XXXXXX")
    mount -t tmpfs tmpfs "$top"
    mkdir "$top/u" "$top/w"
    mount -t overlay overlay -o "lowerdir=$d,upperdir=$top/u,workdir=$top/w" "$d"
done
install -m 0644 "$module" "$libdir/libnss_vigil.so.2"
mkdir -p /var/lib/vigil
install -m 0644 "$dir/nss-table" /var/lib/vigil/grants
printf 'passwd: %s\ngroup: %s\n' "$sources" "$sources" >"$dir/nsswitch.conf"
mount --bind "$dir/nsswitch.conf" /etc/nsswitch.conf
# nscd would answer from its cache, for either configuration.
if [ -S /run/nscd/socket ]; then mount -t tmpfs tmpfs /run/nscd; fi
# The module serves a table only when it is valid and safe: check first.
if [ "$sources" != files ] && ! getent group bench-g1 >/dev/null; then
    echo "bench: the module does not serve the bench's grant table" >&2
    exit 1
fi
exec "$lookup" "$count" vigil-bench-nobody-
