#!/bin/bash
# Every shell script in the tree passes shellcheck at warning level: *.sh,
# the Debian maintainer scripts, .ci/run, and any other tracked file whose
# first line runs sh or bash. Sourced files are followed (-x), so a variable
# set here and read in lib.sh is not reported unused. TAP output.
# Run by hand: tests/style/shellcheck.sh
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
echo "1..1"
scripts=()
while IFS= read -r f; do
    case $f in
        *.sh) scripts+=("$f") ;;
        *) [ -f "$f" ] && head -n 1 "$f" | grep -qE '^#!(/usr)?/bin/(env )?(ba)?sh\b' && scripts+=("$f") ;;
    esac
done < <(git ls-files)
if [ ${#scripts[@]} -eq 0 ]; then
    echo "not ok 1 - no shell scripts found (is this a git checkout?)"
    exit 0
fi
# In batches over every CPU: one shellcheck over them all takes ~25 s here.
out=$(printf '%s\0' "${scripts[@]}" |
    xargs -0 -n 16 -P "$(nproc)" shellcheck --external-sources --source-path=SCRIPTDIR --severity=warning --format=gcc 2>&1)
if [ -z "$out" ]; then
    echo "ok 1 - ${#scripts[@]} shell scripts pass shellcheck (warning level)"
else
    echo "not ok 1 - shellcheck: $(grep -c . <<<"$out") findings"
    sed 's/^/# /' <<<"$out" | head -60
fi
