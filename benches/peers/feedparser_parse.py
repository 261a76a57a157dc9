#!/usr/bin/env python3
"""feedparser_parse.py DIR RUNS

Peer benchmark: Python's feedparser parsing the same feed files syndic's poller parses.
Every regular file under DIR (recursively, sorted) is read into memory first (not timed); then
each of RUNS runs calls feedparser.parse(data) on the bytes of every file, and its total wall
time (time.perf_counter) is one value. One un-timed warm-up pass comes first (imports, caches).
feedparser runs with its defaults (HTML sanitizing and relative-URI resolution on), so this is
"parse to a normalized dict" as an application gets it. Items = sum of len(result.entries) over
the files (files that are not feeds, e.g. JSON Feed or HTML, count with 0 items; bozo = files
feedparser flagged as ill-formed).

Progress goes to stderr; the last stdout line is one JSON object:
{"tool":"feedparser","version":..,"files":n,"bytes":b,"items":i,"bozo":k,"seconds":median,
 "mb_per_s":b/1e6/median,"items_per_s":i/median,"runs":[seconds of each run]}
"""
import json
import os
import statistics
import sys
import time


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: feedparser_parse.py DIR RUNS", file=sys.stderr)
        return 2
    root, runs = sys.argv[1], sys.argv[2]
    try:
        runs = int(runs)
        assert runs > 0
    except (ValueError, AssertionError):
        print("feedparser_parse.py: RUNS must be a positive integer", file=sys.stderr)
        return 2
    if not os.path.isdir(root):
        print(f"feedparser_parse.py: not a directory: {root}", file=sys.stderr)
        return 2
    try:
        import feedparser
    except ImportError:
        print("feedparser_parse.py: feedparser is not installed (run benches/peers/setup.sh)", file=sys.stderr)
        return 1

    paths = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        paths.extend(os.path.join(dirpath, f) for f in sorted(filenames))
    blobs = []
    for p in paths:
        if os.path.isfile(p):
            with open(p, "rb") as f:
                blobs.append(f.read())
    if not blobs:
        print(f"feedparser_parse.py: no files under {root}", file=sys.stderr)
        return 1
    total_bytes = sum(len(b) for b in blobs)

    parse = feedparser.parse
    items = bozo = 0
    for b in blobs:  # warm-up, and the counts
        d = parse(b)
        items += len(d.entries)
        bozo += bool(d.bozo)
    print(f"feedparser_parse.py: feedparser {feedparser.__version__}: {len(blobs)} files, "
          f"{total_bytes} bytes, {items} items ({bozo} bozo); {runs} runs", file=sys.stderr)

    times = []
    for r in range(runs):
        t0 = time.perf_counter()
        for b in blobs:
            parse(b)
        dt = time.perf_counter() - t0
        times.append(dt)
        print(f"feedparser_parse.py: run {r + 1}/{runs}: {dt:.4f} s", file=sys.stderr)

    med = statistics.median(times)
    print(json.dumps({
        "tool": "feedparser", "version": feedparser.__version__,
        "files": len(blobs), "bytes": total_bytes, "items": items, "bozo": bozo,
        "seconds": round(med, 6),
        "mb_per_s": round(total_bytes / 1e6 / med, 3),
        "items_per_s": round(items / med, 1),
        "runs": [round(t, 6) for t in times],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
