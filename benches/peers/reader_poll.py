#!/usr/bin/env python3
"""reader_poll.py URLSFILE WORKERS ROUNDS

Peer benchmark: the PyPI `reader` library (https://github.com/lemon24/reader) polling the same
upstream feeds syndic's poller polls. A fresh reader database in a mktemp -d dir; every URL in
URLSFILE (one a line; blank lines and # comments skipped) is added with add_feed(); then ROUNDS
rounds of update_feeds_iter(workers=WORKERS, scheduled=False). scheduled=False matters: reader's
default (scheduled=True) skips a feed until its update interval (1 h) has passed, so round 2
would fetch nothing. From round 2 on, reader sends conditional requests itself
(If-None-Match / If-Modified-Since from the stored ETag / Last-Modified), so an unchanged
upstream answers 304 and the round measures the cost of a no-change poll.

Per round: wall_s (time.perf_counter), cpu_s (getrusage user+sys of this process and of its
children, delta over the round), ok (feeds updated, or answered 304), not_modified (of those,
how many had nothing new: 304 or same content), errors (UpdateError), new/modified entries.
At the end: entries stored (get_entry_counts().total) and peak RSS (ru_maxrss, KiB on Linux).
Progress goes to stderr; the last stdout line is one JSON object:
{"tool":"reader","version":..,"feeds":n,"workers":w,"rounds":[{"wall_s":..,"cpu_s":..,"ok":..,
 "errors":..,"not_modified":..,"new_entries":..,"modified_entries":..}],"entries":..,
 "peak_rss_mb":..}
Environment: READER_TIMEOUT (seconds, default 10) for connect and read; READER_KEEP_DB=1 leaves
the temp dir in place and says where.
"""
import json
import os
import resource
import shutil
import sys
import tempfile
import time


def cpu_seconds() -> float:
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def log(msg: str) -> None:
    print(f"reader_poll.py: {msg}", file=sys.stderr, flush=True)


def main() -> int:
    if len(sys.argv) != 4:
        print("usage: reader_poll.py URLSFILE WORKERS ROUNDS", file=sys.stderr)
        return 2
    urls_file = sys.argv[1]
    try:
        workers, rounds = int(sys.argv[2]), int(sys.argv[3])
        assert workers > 0 and rounds > 0
    except (ValueError, AssertionError):
        print("reader_poll.py: WORKERS and ROUNDS must be positive integers", file=sys.stderr)
        return 2
    try:
        import reader
        from reader import InvalidFeedURLError, make_reader
    except ImportError:
        print("reader_poll.py: the `reader` package is not installed (run benches/peers/setup.sh)", file=sys.stderr)
        return 1
    try:
        with open(urls_file, encoding="utf-8") as f:
            urls = [u.strip() for u in f if u.strip() and not u.lstrip().startswith("#")]
    except OSError as e:
        print(f"reader_poll.py: cannot read {urls_file}: {e}", file=sys.stderr)
        return 1
    urls = list(dict.fromkeys(urls))
    if not urls:
        print(f"reader_poll.py: no URLs in {urls_file}", file=sys.stderr)
        return 1
    # Loopback only: never send these through a proxy from the environment.
    for k in ("NO_PROXY", "no_proxy"):
        os.environ[k] = ",".join(filter(None, [os.environ.get(k), "127.0.0.0/8", "localhost"]))

    timeout = float(os.environ.get("READER_TIMEOUT", "10"))
    tmp = tempfile.mkdtemp(prefix="syndic-peers-reader.")
    try:
        r = make_reader(os.path.join(tmp, "db.sqlite"), session_timeout=(timeout, timeout))
        loose = 0
        for u in urls:
            try:
                r.add_feed(u, exist_ok=True)
            except InvalidFeedURLError:
                r.add_feed(u, exist_ok=True, allow_invalid_url=True)
                loose += 1
        log(f"reader {reader.__version__}: {len(urls)} feeds added"
            + (f" ({loose} with allow_invalid_url)" if loose else "") + f"; {rounds} rounds, {workers} workers")

        out_rounds = []
        for i in range(rounds):
            c0, t0 = cpu_seconds(), time.perf_counter()
            ok = errors = not_modified = new = modified = 0
            first_error = None
            for res in r.update_feeds_iter(workers=workers, scheduled=False):
                if res.error is not None:
                    errors += 1
                    first_error = first_error or f"{res.url}: {res.error!r} caused by {res.error.__cause__!r}"
                    continue
                ok += 1
                if res.not_modified:
                    not_modified += 1
                if res.updated_feed is not None:
                    new += res.updated_feed.new
                    modified += res.updated_feed.modified
            wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
            rd = {"wall_s": round(wall, 4), "cpu_s": round(cpu, 4), "ok": ok, "errors": errors,
                  "not_modified": not_modified, "new_entries": new, "modified_entries": modified}
            out_rounds.append(rd)
            log(f"round {i + 1}/{rounds}: {json.dumps(rd)}")
            if first_error:
                log(f"  first error: {first_error}")

        entries = r.get_entry_counts().total
        r.close()
        maxrss_kib = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                         resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    finally:
        if os.environ.get("READER_KEEP_DB") == "1":
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    print(json.dumps({
        "tool": "reader", "version": reader.__version__, "feeds": len(urls), "workers": workers,
        "rounds": out_rounds, "entries": entries, "peak_rss_mb": round(maxrss_kib / 1024, 1),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
