#!/bin/bash
# Every C++ source in the tree is as clang-format (.clang-format at the top)
# writes it, so a diff shows what changed and nothing else. TAP output.
# Fix with: git ls-files '*.cc' '*.h' | xargs clang-format -i
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
echo "1..1"
files=$(find wire base agent pam_module posture nss bench tests -name node_modules -prune -o \
    \( -name '*.cc' -o -name '*.h' \) -type f -print | sort)
bad=""
for f in $files; do
    clang-format --style=file --dry-run -Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
done
if [ -z "$bad" ]; then
    echo "ok 1 - $(echo "$files" | wc -l) C++ sources are clang-formatted"
else
    echo "not ok 1 - not clang-formatted:$bad"
    for f in $bad; do clang-format --style=file "$f" | diff -u "$f" - | head -20 | sed 's/^/# /'; done
fi
