#!/usr/bin/env bash
# hugo.sh FEEDJSON N RUNS
#
# Peer benchmark: Hugo rendering an RSS feed of N articles.
# What the figures measure:
#  - rss_ms_per_feed: time Hugo spends executing its RSS template(s), from `hugo
#    --templateMetrics` (the cumulative-duration column of every row whose template name ends in
#    rss.xml; with Hugo's built-in template that row is `_internal/_default/rss.xml`), divided by
#    that row's execution count. The site is set up so that the home page is the only RSS
#    output (sections, taxonomies and terms have none), so the count is 1 and the figure is the
#    time to render the home feed of N items. Caveat: it is the wall time of the template
#    execution, and Hugo prepares each page's content lazily and once (shared by the HTML page
#    and the feed, whichever asks first), so the RSS row also carries part or all of turning the
#    N bodies into content (.Summary triggers it), and waits on other goroutines: it grows with
#    body size even though the built-in template doesn't print the body, and it is noisy on a
#    busy machine. build_ms is the steadier figure. Hugo's built-in RSS template puts each page's *summary*
#    (here: the front-matter summary) in <description>, not the full HTML: set RSS_TEMPLATE=full
#    to use our own layouts/_default/rss.xml instead, the same template but with the full
#    content in <description> (it is then the row `_default/rss.xml`).
#  - build_ms: wall time of the whole `hugo` process (start-up, reading N content files,
#    rendering N article pages, the list pages and the feed), measured around the process;
#    hugo_total_ms is Hugo's own "Total in N ms" line.
# Each run is a fresh `hugo --templateMetrics --renderToMemory` build (nothing is written; a
# fresh -d destination per run when --renderToMemory is missing) with its own --cacheDir. One
# un-timed build to disk first checks that index.xml has N items. Hugo uses all cores.
# The site: content/posts/pNNNN.html (HTML content files: the body is content_html as is, no
# Markdown), JSON front matter with title, date (date_published), lastmod (date_modified),
# tags, summary; minimal layouts of our own (no theme); RSS limit N (rssLimit, or
# services.rss.limit from Hugo 0.114). Last stdout line:
# {"tool":"hugo","version":..,"items":N,"rss_ms_per_feed":median,"build_ms":median,
#  "hugo_total_ms":median,"rss_executions":k,"rss_template":[..],
#  "runs":{"rss_ms_per_feed":[..],"build_ms":[..],"hugo_total_ms":[..]}}
set -euo pipefail
die() { echo "hugo.sh: $*" >&2; exit 1; }
[ $# -eq 3 ] || die "usage: hugo.sh FEEDJSON N RUNS"
FEEDJSON="$1"; N="$2"; RUNS="$3"
[[ "$N" =~ ^[1-9][0-9]*$ && "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "N and RUNS must be positive integers"
[ -r "$FEEDJSON" ] || die "cannot read $FEEDJSON"
command -v hugo >/dev/null || die "hugo not found (run benches/peers/setup.sh)"
command -v python3 >/dev/null || die "python3 not found"

T="$(mktemp -d "${TMPDIR:-/tmp}/syndic-peers-hugo.XXXXXX")"
trap 'rm -rf -- "$T"' EXIT
export HUGO_ENVIRONMENT=production

python3 - "$FEEDJSON" "$N" "$RUNS" "$T" "${RSS_TEMPLATE:-builtin}" <<'PY'
import json, os, re, shutil, statistics, subprocess, sys, time
from datetime import datetime
from urllib.parse import urljoin

feedjson, n, runs, tmp, rss_template = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
def log(*a): print("hugo.sh:", *a, file=sys.stderr, flush=True)

ver_line = subprocess.run(["hugo", "version"], capture_output=True, text=True).stdout.strip()
m = re.search(r"v(\d+)\.(\d+)\.(\d+)", ver_line)
if not m: sys.exit(f"hugo.sh: cannot read the hugo version from {ver_line!r}")
version = ".".join(m.groups()); vt = tuple(int(x) for x in m.groups())
help_text = subprocess.run(["hugo", "help"], capture_output=True, text=True).stdout
to_memory = "--renderToMemory" in help_text

doc = json.load(open(feedjson, encoding="utf-8"))
items = (doc.get("items") or [])[:n]
if len(items) < n: log(f"warning: only {len(items)} items in {feedjson}")
base = doc.get("home_page_url") or "https://example.invalid/"
if not base.endswith("/"): base += "/"

def valid_date(s):
    if not isinstance(s, str): return None
    try: datetime.fromisoformat(s.replace("Z", "+00:00")); return s
    except ValueError: return None

site = os.path.join(tmp, "site"); posts = os.path.join(site, "content", "posts")
layouts = os.path.join(site, "layouts", "_default")
os.makedirs(posts); os.makedirs(layouts)
limit = f"[services.rss]\nlimit = {len(items)}\n" if vt >= (0, 114, 0) else ""
with open(os.path.join(site, "config.toml"), "w", encoding="utf-8") as f:
    f.write(f'baseURL = {json.dumps(base)}\ntitle = {json.dumps(doc.get("title") or "feed")}\n')
    if doc.get("language"): f.write(f'languageCode = {json.dumps(doc["language"])}\n')
    if vt < (0, 114, 0): f.write(f"rssLimit = {len(items)}\n")
    f.write('disableKinds = ["taxonomy", "term", "sitemap", "robotsTXT", "404"]\n'
            '[outputs]\nhome = ["HTML", "RSS"]\nsection = ["HTML"]\npage = ["HTML"]\n'
            '[markup.goldmark.renderer]\nunsafe = true\n' + limit)
with open(os.path.join(layouts, "single.html"), "w") as f:
    f.write("<!doctype html><html><head><title>{{ .Title }}</title></head><body><article>{{ .Content }}</article></body></html>\n")
with open(os.path.join(layouts, "list.html"), "w") as f:
    f.write('<!doctype html><html><head><title>{{ .Title }}</title></head><body><ul>{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul></body></html>\n')
if rss_template == "full":
    # Hugo 0.111's internal _default/rss.xml, with the full content in <description>.
    with open(os.path.join(layouts, "rss.xml"), "w") as f:
        f.write('''{{- $pctx := . -}}{{- if .IsHome -}}{{ $pctx = .Site }}{{- end -}}
{{- $pages := $pctx.RegularPages -}}{{- $limit := .Site.Config.Services.RSS.Limit -}}
{{- if ge $limit 1 -}}{{- $pages = $pages | first $limit -}}{{- end -}}
{{- printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\" standalone=\\"yes\\"?>" | safeHTML }}
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
  <channel>
    <title>{{ .Site.Title }}</title>
    <link>{{ .Permalink }}</link>
    <description>Recent content on {{ .Site.Title }}</description>
    <generator>Hugo -- gohugo.io</generator>{{ with .Site.LanguageCode }}
    <language>{{.}}</language>{{end}}{{ if not .Date.IsZero }}
    <lastBuildDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" | safeHTML }}</lastBuildDate>{{ end }}
    {{- with .OutputFormats.Get "RSS" -}}
    {{ printf "<atom:link href=%q rel=\\"self\\" type=%q />" .Permalink .MediaType | safeHTML }}
    {{- end -}}
    {{ range $pages }}
    <item>
      <title>{{ .Title }}</title>
      <link>{{ .Permalink }}</link>
      <pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" | safeHTML }}</pubDate>
      <guid>{{ .Permalink }}</guid>
      <description>{{ .Content | html }}</description>
    </item>
    {{ end }}
  </channel>
</rss>
''')
elif rss_template != "builtin":
    sys.exit("hugo.sh: RSS_TEMPLATE must be builtin or full")

for i, it in enumerate(items):
    fm = {"title": str(it.get("title") or "")}
    d = valid_date(it.get("date_published")) or valid_date(it.get("date_modified"))
    if d: fm["date"] = d
    lm = valid_date(it.get("date_modified"))
    if lm: fm["lastmod"] = lm
    if isinstance(it.get("tags"), list) and it["tags"]: fm["tags"] = [str(t) for t in it["tags"]]
    if it.get("summary"): fm["summary"] = str(it["summary"])
    body = it.get("content_html")
    if body is None:
        import html; body = "<p>" + html.escape(str(it.get("content_text") or "")) + "</p>"
    with open(os.path.join(posts, f"p{i:05d}.html"), "w", encoding="utf-8") as f:
        f.write(json.dumps(fm, ensure_ascii=False) + "\n" + body + "\n")
log(f"hugo {version}: site with {len(items)} posts in {site} (RSS template: {rss_template}, renderToMemory: {to_memory})")

UNITS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6}
def go_ms(s):  # Go time.Duration.String() -> ms, e.g. 650.905µs, 1.2s, 1m2.5s
    parts = re.findall(r"([\d.]+)(ns|us|µs|ms|s|m|h)", s)
    if not parts or "".join(a + b for a, b in parts) != s: raise ValueError(s)
    return sum(float(a) * UNITS[b] for a, b in parts)

def build(dest_args):
    cmd = ["hugo", "--templateMetrics", "--noBuildLock", "-s", site,
           "--cacheDir", os.path.join(tmp, "cache")] + dest_args
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    wall = (time.perf_counter() - t0) * 1e3
    if p.returncode != 0:
        sys.stderr.write(p.stdout + p.stderr)
        sys.exit(f"hugo.sh: hugo failed (exit {p.returncode})")
    rss_ms = 0.0; count = 0; names = []
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) >= 5 and f[-1].endswith("rss.xml") and f[-2].isdigit():
            rss_ms += go_ms(f[0]); count += int(f[-2]); names.append(f[-1])
    tm = re.search(r"Total in ([\d.]+) ms", p.stdout)
    if count == 0:
        sys.stderr.write(p.stdout)
        sys.exit("hugo.sh: no RSS template row in the template metrics")
    return {"rss_ms": rss_ms, "count": count, "names": names, "wall_ms": wall,
            "total_ms": float(tm.group(1)) if tm else None}

# Check (un-timed, also warms the page cache): a build to disk, index.xml must hold N items.
check = os.path.join(tmp, "check")
build(["-d", check])
with open(os.path.join(check, "index.xml"), encoding="utf-8") as f:
    got = f.read().count("<item>")
if got != len(items):
    sys.exit(f"hugo.sh: index.xml has {got} items, expected {len(items)}")
log(f"check build: index.xml has {got} items")
shutil.rmtree(check)

res = []
for r in range(runs):
    if to_memory:
        b = build(["--renderToMemory"])
    else:
        dest = os.path.join(tmp, f"public{r}")
        b = build(["-d", dest]); shutil.rmtree(dest, ignore_errors=True)
    res.append(b)
    log(f"run {r + 1}/{runs}: rss {b['rss_ms']:.3f} ms over {b['count']} execution(s), build {b['wall_ms']:.1f} ms")

r3 = lambda x: round(x, 3)
per_feed = [r3(b["rss_ms"] / b["count"]) for b in res]
build_ms = [r3(b["wall_ms"]) for b in res]
totals = [b["total_ms"] for b in res if b["total_ms"] is not None]
print(json.dumps({
    "tool": "hugo", "version": version, "items": len(items),
    "rss_ms_per_feed": r3(statistics.median(per_feed)),
    "build_ms": r3(statistics.median(build_ms)),
    "hugo_total_ms": r3(statistics.median(totals)) if totals else None,
    "rss_executions": res[-1]["count"], "rss_template": sorted(set(res[-1]["names"])),
    "runs": {"rss_ms_per_feed": per_feed, "build_ms": build_ms, "hugo_total_ms": totals},
}))
PY
