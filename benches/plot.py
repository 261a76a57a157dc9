#!/usr/bin/env python3
"""Draws docs/benchmarks.png from target/bench/results.json: for each headline workload, how
many times better syndic is than its peer (bars) beside the target the project set (ticks).

    python3 benches/plot.py [RESULTS] [PNG]      # needs matplotlib (pip install matplotlib)
"""
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
results = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "target/bench/results.json"
png = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "docs/benchmarks.png"
table = json.loads(results.read_text())["table"]

# (row label prefix, unit, peer, short label, target ratio or None)
WANTED = [
    ("serve rss.xml, 64 conns, 200 gzip", "requests/s", "nginx", "serve 200 vs nginx", 0.5),
    ("serve rss.xml, 64 conns, 304", "requests/s", "nginx", "serve 304 vs nginx", 0.8),
    ("render 50 items, rss.xml", "ms", "npm feed", "render 50 RSS vs npm feed", None),
    ("render 500 items, rss.xml", "ms", "hugo (per feed)", "render 500 RSS vs hugo", 10),
    ("ingest 100,000 via HTTP", "articles/s", "SQLite alone", "ingest HTTP vs SQLite alone", 0.5),
    ("parse ", "MB/s", "feedparser", "parse vs feedparser", 20),
    ("poll 2,000 feeds, first round", "feeds/s", "newsboat", "poll (new) vs newsboat", 4),
    ("poll 2,000 feeds, first round", "feeds/s", "reader", "poll (new) vs reader", 4),
    ("poll 2,000 feeds, unchanged", "feeds/s", "newsboat", "poll (304) vs newsboat", 4),
    ("poll 2,000 feeds, unchanged", "feeds/s", "reader", "poll (304) vs reader", 4),
    ("poll 10,000 feeds, first round", "feeds/s", "newsboat", "poll 10k (new) vs newsboat", 4),
    ("poll 10,000 feeds, first round", "feeds/s", "reader", "poll 10k (new) vs reader", 4),
]
labels, ratios, targets = [], [], []
for prefix, unit, peer, label, target in WANTED:
    for w, u, _s, p, _pv, ratio in table:
        if w.startswith(prefix) and u == unit and p == peer and ratio:
            labels.append(label)
            ratios.append(ratio)
            targets.append(target)
            break

fig, ax = plt.subplots(figsize=(9, 0.45 * len(labels) + 1.2))
y = range(len(labels))
colors = ["#2e7d32" if t is None or r >= t else "#c62828" for r, t in zip(ratios, targets)]
ax.barh(list(y), ratios, color=colors)
for i, (r, t) in enumerate(zip(ratios, targets)):
    ax.text(r * 1.05, i, f"{r:.2g}x", va="center", fontsize=8)
    if t:
        ax.plot([t, t], [i - 0.4, i + 0.4], color="black", linewidth=2)
ax.set_xscale("log")
ax.axvline(1, color="grey", linewidth=0.8)
ax.set_yticks(list(y), labels, fontsize=8)
ax.invert_yaxis()
ax.set_xlabel("times better than the peer (log scale; black tick = target, red = target missed)")
ax.set_title("syndic beside its peers (medians, same machine, same run)")
fig.tight_layout()
fig.savefig(png, dpi=110)
print(png)
