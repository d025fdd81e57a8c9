#!/bin/bash
# conf/catalog/vigil.catalog as journald reads it: `journalctl --update-catalog`
# compiles it in a scratch root, and `--list-catalog` then lists exactly the
# ids of base/events.cc. (events_test.cc checks the same ids as text; this
# checks that journalctl's own parser accepts the file.) TAP output.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
echo "1..2"
if ! command -v journalctl >/dev/null; then
    echo "ok 1 # SKIP journalctl is not installed"
    echo "ok 2 # SKIP journalctl is not installed"
    exit 0
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/lib/systemd/catalog"
cp "$top/conf/catalog/vigil.catalog" "$root/usr/lib/systemd/catalog/"
if out=$(journalctl --root="$root" --update-catalog 2>&1) && [ -z "$out" ] && [ -s "$root/var/lib/systemd/catalog/database" ]; then
    echo "ok 1 - journalctl --update-catalog compiles vigil.catalog without a complaint"
else
    echo "not ok 1 - journalctl --update-catalog: ${out:-no database written}"
fi
listed=$(journalctl --root="$root" --list-catalog 2>&1 | awk '{ print $1 }' | sort)
code=$(grep -oE '"[0-9a-f]{32}"' "$top/base/events.cc" | tr -d '"' | sort)
if [ -n "$code" ] && [ "$listed" = "$code" ]; then
    echo "ok 2 - journalctl lists the $(echo "$code" | wc -l) ids of base/events.cc, and no other"
else
    echo "not ok 2 - journalctl --list-catalog and base/events.cc differ"
    diff <(echo "$listed") <(echo "$code") | sed 's/^/# /'
fi
