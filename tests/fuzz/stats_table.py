#!/usr/bin/env python3
"""Markdown table of libFuzzer runs from their logs (one log per target, made with
-print_final_stats=1), for docs/fuzzing.md.  Usage: stats_table.py LOG..."""
import os
import re
import sys


def summarize(path):
    text = open(path, errors="replace").read()
    row = {"target": os.path.basename(path).rsplit(".", 1)[0]}
    for key in ("number_of_executed_units", "average_exec_per_sec", "new_units_added",
                "slowest_unit_time_sec", "peak_rss_mb"):
        m = re.search(r"stat::%s:\s+(\d+)" % key, text)
        row[key] = int(m.group(1)) if m else None
    # The last status line holds the final coverage: "cov: N ft: M corp: K/S".
    lines = re.findall(r"^#\d+\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/(\S+)", text, re.M)
    row["cov"], row["ft"], row["corp"], row["corp_size"] = lines[-1] if lines else ("?",) * 4
    m = re.search(r"Done \d+ runs in (\d+) second", text)
    row["seconds"] = int(m.group(1)) if m else None
    row["crashes"] = len(re.findall(r"^==\d+== ERROR", text, re.M))
    return row


def main(paths):
    print("| target | seconds | executions | exec/s | coverage (edges) | features | corpus |"
          " slowest unit (s) | peak RSS (MB) | crashes |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for p in paths:
        r = summarize(p)
        print("| %s | %s | %s | %s | %s | %s | %s (%s) | %s | %s | %d |" % (
            r["target"], r["seconds"], f"{r['number_of_executed_units']:,}"
            if r["number_of_executed_units"] is not None else "?",
            r["average_exec_per_sec"], r["cov"], r["ft"], r["corp"], r["corp_size"],
            r["slowest_unit_time_sec"], r["peak_rss_mb"], r["crashes"]))


if __name__ == "__main__":
    main(sys.argv[1:])
