#!/usr/bin/env python3
"""The WebSub hub's limits under an anonymous flood (issue 18's first table), on 127.0.0.1 only.

Starts `syndic serve` (the binary given) on a fresh SQLite file with its default hub limits
(hub callbacks on private addresses allowed, since the callbacks here are on loopback), sends
3,000 anonymous `hub.mode=subscribe` requests for one channel's feed, 16 at a time, and prints
one JSON line per case with the answers by status, the time they took, how many callbacks
the hub verified and how many subscriptions it stored (its /metrics gauge):
  - one-host: 3,000 distinct callbacks on one host (127.0.0.1): the per-host limit answers;
  - many-hosts: 3,000 callbacks over 30 hosts (127.0.0.1 to 127.0.0.30, 100 each): the
    per-topic limit answers.
Usage: benches/hub_limits.py target/release/syndic
"""
import concurrent.futures
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

N = 3000
HOSTS = 30


class Callbacks(http.server.ThreadingHTTPServer):
    daemon_threads = True
    verified = 0
    lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        with self.server.lock:
            type(self.server).verified += 1
        body = q.get("hub.challenge", [""])[0].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(what, f, limit=30.0):
    end = time.monotonic() + limit
    while not f():
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def run_case(binary, name, hosts):
    work = tempfile.mkdtemp(prefix="syndic-hub-limits-")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDIC_") and k != "DATABASE_URL"}
    env.update({
        "DATABASE_URL": f"sqlite:{work}/syndic.db",
        "SYNDIC_BIND": f"127.0.0.1:{port}",
        "SYNDIC_ALLOW_PRIVATE_CALLBACKS": "true",
        "SYNDIC_POLLER": "off",
        "RUST_LOG": "warn",
    })
    subprocess.run([binary, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([binary, "channel", "add", "news", "--title", "News"], env=env, check=True,
                   capture_output=True)
    server = subprocess.Popen([binary, "serve"], env=env, stderr=subprocess.DEVNULL)
    cb_port = free_port()
    Callbacks.verified = 0
    callbacks = []
    for h in range(1, hosts + 1):
        cb = Callbacks((f"127.0.0.{h}", cb_port), Handler)
        threading.Thread(target=cb.serve_forever, daemon=True).start()
        callbacks.append(cb)
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return urllib.request.urlopen(base + "/healthz", timeout=1).status == 200
        except OSError:
            return False

    try:
        wait_for("syndic", up)
        topic = base + "/feeds/news/atom.xml"

        def subscribe(i):
            host = f"127.0.0.{1 + i % hosts}"
            data = urllib.parse.urlencode({
                "hub.mode": "subscribe",
                "hub.topic": topic,
                "hub.callback": f"http://{host}:{cb_port}/cb/{i}",
            }).encode()
            try:
                return urllib.request.urlopen(base + "/websub", data=data, timeout=30).status
            except urllib.error.HTTPError as e:
                return e.code

        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(subscribe, range(N)))
        took = time.monotonic() - started
        by_status = {}
        for s in statuses:
            by_status[str(s)] = by_status.get(str(s), 0) + 1
        accepted = by_status.get("202", 0)
        wait_for("verifications", lambda: Callbacks.verified >= accepted, limit=60)
        time.sleep(1.0)
        metrics = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
        stored = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                     if line.startswith("syndic_websub_hub_subscriptions{"))
        print(json.dumps({"case": name, "requests": N, "callback_hosts": hosts,
                          "answers": by_status, "seconds": round(took, 2),
                          "verified": Callbacks.verified, "stored": int(stored)}))
    finally:
        server.terminate()
        server.wait(timeout=30)
        for cb in callbacks:
            cb.shutdown()


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    run_case(sys.argv[1], "one-host", 1)
    run_case(sys.argv[1], "many-hosts", HOSTS)


if __name__ == "__main__":
    main()
