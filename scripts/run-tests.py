#!/usr/bin/env python3
"""Runs every meson test of one or more build dirs and counts real cases.

meson counts a TAP script or a Catch2 binary as one test; an admin reading
CI wants the number of behaviours checked. So each test's output is read:
TAP ("ok N" / "not ok N") or JUnit XML (Catch2's -r junit) gives the cases;
a test that exits non-zero, times out, or reports nothing counts as failed.
Ends with one line: "N passed, N failed" (", N skipped", ", N flaky" when
any).

An end-to-end script that fails is run once more. Its first run's failures
are printed in full and counted as "flaky"; the second run's result is the
one that counts. A regression fails both runs; a timing race in the harness
(a loopback server slow to start on a loaded CI machine) shows up in the
flaky count, to be fixed, without sinking the whole run. Unit tests are not
retried: they have no timing to race; nor are fuzz targets: what a fuzzer
finds once is a bug, even if the next run does not find it again.

usage: run-tests.py BUILD_DIR [BUILD_DIR...] [--suite NAME] [--show-cases]
(--show-cases prints every case line, passing ones too: make fuzz shows each
target's executions that way.)
"""
import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

TAP_LINE = re.compile(r"^(not ok|ok)\b\s*\d*\s*-?\s*(.*)$")


def introspect(build):
    out = subprocess.run(["meson", "introspect", build, "--tests"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def count_junit(text):
    root = ET.fromstring(text[text.index("<"):])
    passed = failed = skipped = 0
    names = []
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
            names.append(case.get("name"))
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped, names


def count_tap(text):
    passed = failed = skipped = 0
    names = []
    plan = None
    for line in text.splitlines():
        p = re.match(r"^1\.\.(\d+)", line.strip())
        if p and plan is None:
            plan = int(p.group(1))
        m = TAP_LINE.match(line.strip())
        if not m:
            continue
        if "# SKIP" in line.upper():
            skipped += 1
        elif m.group(1) == "ok":
            passed += 1
        else:
            failed += 1
            names.append(m.group(2))
    # A script that runs more or fewer cases than it planned is broken, even
    # when every case it ran passed (meson reports it as an error too).
    ran = passed + failed + skipped
    if plan is not None and plan != ran and not (plan == 0 and ran == 0):
        failed += 1
        names.append(f"TAP plan 1..{plan} but {ran} cases ran")
    return passed, failed, skipped, names


def run_one(build, test):
    env = dict(os.environ)
    env.update(test.get("env") or {})
    start = time.monotonic()
    try:
        p = subprocess.run(test["cmd"], cwd=test.get("workdir") or build, env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           errors="replace", timeout=test.get("timeout") or 300)
        out, err, rc = p.stdout, p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err, rc = f"timed out after {test.get('timeout')}s", None
    elapsed = time.monotonic() - start
    if out.lstrip().startswith("<?xml"):
        passed, failed, skipped, names = count_junit(out)
    else:
        passed, failed, skipped, names = count_tap(out)
    # A script cut short says only that its plan was not met: add how it
    # ended (the flaky summary shows names, not the output).
    ended = "timed out" if rc is None else f"exit {rc}"
    names = [f"{n} ({ended}, {elapsed:.0f}s)" if n.startswith("TAP plan") else n for n in names]
    if rc != 0 and failed == 0:
        failed, names = failed + 1, names + [f"{test['name']} exited with {rc}"]
    if passed + failed + skipped == 0:
        failed, names = 1, [f"{test['name']} reported no test cases"]
    return passed, failed, skipped, names, out, err, elapsed


def is_e2e(test):
    return not any(s.endswith(":unit") or s.endswith(":fuzz") for s in test["suite"])


def report(build, test, passed, failed, skipped, names, out, err, secs, status):
    print(f"[{build}] {test['name']}: {passed} passed, {failed} failed, "
          f"{skipped} skipped ({secs:.1f}s) {status}", flush=True)
    if failed:
        for n in names:
            print(f"    failed: {n}")
        print("    --- output ---")
        print("\n".join("    " + l for l in (out + "\n" + err).splitlines()[-80:]))


def main(argv):
    suite = None
    show_cases = False
    builds = []
    it = iter(argv)
    for a in it:
        if a == "--suite":
            suite = next(it)
        elif a == "--show-cases":
            show_cases = True
        else:
            builds.append(a)
    total = [0, 0, 0]
    flaky = []
    for build in builds:
        for test in introspect(build):
            if suite and not any(s.endswith(":" + suite) for s in test["suite"]):
                continue
            passed, failed, skipped, names, out, err, secs = run_one(build, test)
            if failed and is_e2e(test):
                report(build, test, passed, failed, skipped, names, out, err, secs, "FAIL, running it again")
                flaky += [f"[{build}] {test['name']}: {n}" for n in names]
                passed, failed, skipped, names, out, err, secs = run_one(build, test)
            total[0] += passed
            total[1] += failed
            total[2] += skipped
            report(build, test, passed, failed, skipped, names, out, err, secs, "FAIL" if failed else "ok")
            if show_cases and not failed:
                print("\n".join("    " + l for l in out.splitlines() if TAP_LINE.match(l.strip())))
    for f in flaky:
        print(f"flaky (failed, then passed or failed again on its second run): {f}")
    line = f"{total[0]} passed, {total[1]} failed"
    if total[2]:
        line += f", {total[2]} skipped"
    if flaky:
        line += f", {len(flaky)} flaky"
    print(line)
    return 1 if total[1] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
