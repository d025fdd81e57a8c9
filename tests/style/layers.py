#!/usr/bin/env python3
"""The layering rule of docs/ARCHITECTURE.md, checked on the sources.

The table in the document's ```layers block names, for each folder with C++
sources, the layers it may use directly; what those may use it may use too.
Every quoted include is a bare header name ("engine.h", as the build's
-iquote flags resolve it) that must belong to the including folder or to a
layer it may use. The build refuses the same includes (a layer's -iquote
list holds only the layers below it); this check says which line broke which
rule, and keeps the document true.

    tests/style/layers.py [ROOT]      TAP; ROOT defaults to the source tree

Test 3 plants a posture/ file that includes the engine in a copy of the tree
and expects the check to name it, so a check that stopped finding anything
cannot pass.
"""
import pathlib
import re
import shutil
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
SOURCE_SUFFIXES = (".h", ".cc")


def read_table(root):
    doc = (root / "docs" / "ARCHITECTURE.md").read_text()
    block = re.search(r"^```layers\n(.*?)^```", doc, re.M | re.S)
    if not block:
        raise SystemExit("docs/ARCHITECTURE.md has no ```layers block")
    uses = {}
    for line in block.group(1).splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, below = line.partition(":")
        uses[name.strip()] = below.split()
    return uses


def allowed(uses):
    """Each layer's own name plus everything it reaches through the table."""
    out = {}
    for layer in uses:
        seen, todo = {layer}, list(uses[layer])
        while todo:
            lower = todo.pop()
            if lower not in seen:
                seen.add(lower)
                todo.extend(uses.get(lower, []))
        out[layer] = seen
    return out


def source_folders(root):
    """Folders (relative, non-recursive) holding C++ sources, outside tests and bench."""
    folders = set()
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if rel.parts[0] in ("tests", "bench", "build") or rel.parts[0].startswith((".", "build")):
            continue
        if path.suffix in SOURCE_SUFFIXES and path.is_file():
            folders.add(rel.parent.as_posix())
    return folders


def check(root):
    """(problems with the table, problems with includes)"""
    uses = read_table(root)
    folders = source_folders(root)
    table_errors = [f"{f}/ holds sources but is not in the layers table" for f in sorted(folders - set(uses))]
    table_errors += [f"{f} is in the layers table but holds no sources" for f in sorted(set(uses) - folders)]
    for layer, below in uses.items():
        table_errors += [f"{layer} may use {b}, which is not a layer" for b in below if b not in uses]
    owner, include_errors = {}, []
    for folder in sorted(folders):
        for path in sorted((root / folder).glob("*.h")):
            if path.name in owner:
                table_errors.append(f"{path.name} is in both {owner[path.name]}/ and {folder}/")
            owner[path.name] = folder
    reach = allowed(uses)
    for folder in sorted(folders & set(uses)):
        for path in sorted((root / folder).iterdir()):
            if path.suffix not in SOURCE_SUFFIXES:
                continue
            text = path.read_text()
            for m in INCLUDE.finditer(text):
                name, line = m.group(1), text.count("\n", 0, m.start()) + 1
                where = f"{folder}/{path.name}:{line}"
                if "/" in name:
                    include_errors.append(f'{where}: "{name}": include a layer\'s header by its bare name')
                elif name not in owner:
                    include_errors.append(f'{where}: "{name}" is no layer\'s header')
                elif owner[name] not in reach[folder]:
                    may = ", ".join(sorted(reach[folder] - {folder})) or "nothing"
                    include_errors.append(f"{where}: includes {name} ({owner[name]}), but {folder} may use only: {may}")
    return table_errors, include_errors


def report(n, ok, what, errors):
    print(f"{'ok' if ok else 'not ok'} {n} - {what}")
    for e in errors[:40]:
        print(f"# {e}")


def planted_include_is_caught(root):
    with tempfile.TemporaryDirectory() as tmp:
        copy = pathlib.Path(tmp)
        (copy / "docs").mkdir()
        shutil.copy(root / "docs" / "ARCHITECTURE.md", copy / "docs")
        for folder in source_folders(root):
            shutil.copytree(root / folder, copy / folder, dirs_exist_ok=True,
                            ignore=lambda d, names: [n for n in names if (pathlib.Path(d) / n).is_dir()])
        (copy / "posture" / "planted.cc").write_text('#include "signal.h"\n#include "engine.h"\n')
        _, errors = check(copy)
        return [e for e in errors if e.startswith("posture/planted.cc:2: includes engine.h (agent/decide)")], errors


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])
    print("1..3")
    table_errors, include_errors = check(root)
    report(1, not table_errors, "every folder with sources is a layer of docs/ARCHITECTURE.md, and every header "
           "name is one file", table_errors)
    report(2, not include_errors, "no layer includes a header of a layer it may not use", include_errors)
    caught, errors = planted_include_is_caught(root)
    report(3, len(caught) == 1 and len(errors) == len(include_errors) + 1,
           "a planted posture/ include of the engine is reported, and nothing else new", caught or errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
