#!/usr/bin/env python3
"""audit_stats.py AUDIT_LOG FIRST LAST OUT_PREFIX — summarises vigild's
decision records FIRST..LAST (1-based line numbers, inclusive) for bench/pdp.sh.

Writes OUT_PREFIX.pdp_us (pdp.latency_us: vigild's own HTTP round trip to the
PDP) and OUT_PREFIX.engine_us (latency_us: the whole decision inside vigild),
one value per line, and prints shell assignments on stdout:
  records=N allow=N pdp=N cache=N fallback=N other_path=N span_ms=N
span_ms is the time from the first to the last record of the slice
(millisecond timestamps), for a vigild-side throughput figure.
"""
import json
import sys
from datetime import datetime


def ms(stamp):
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() * 1000.0


def main():
    path, first, last, prefix = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    counts = {"records": 0, "allow": 0, "pdp": 0, "cache": 0, "fallback": 0, "other_path": 0}
    times = []
    with open(path, encoding="utf-8") as f, open(prefix + ".pdp_us", "w") as pdp_out, \
            open(prefix + ".engine_us", "w") as engine_out:
        for n, line in enumerate(f, 1):
            if n < first or n > last:
                continue
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if r.get("event") != "decision":
                continue
            counts["records"] += 1
            counts["allow"] += r.get("outcome") == "allow"
            p = r.get("path", "")
            if p == "pdp":
                counts["pdp"] += 1
            elif p == "cache":
                counts["cache"] += 1
            elif p.startswith("fallback"):
                counts["fallback"] += 1
            else:
                counts["other_path"] += 1
            pdp = r.get("pdp") or {}
            if "latency_us" in pdp:
                pdp_out.write(f"{pdp['latency_us']}\n")
            if "latency_us" in r:
                engine_out.write(f"{r['latency_us']}\n")
            if "time" in r:
                try:
                    times.append(ms(r["time"]))
                except ValueError:
                    pass
    span = int(round(max(times) - min(times))) if len(times) > 1 else 0
    print(" ".join(f"{k}={v}" for k, v in counts.items()) + f" span_ms={span}")


if __name__ == "__main__":
    main()
