#!/usr/bin/env bash
# newsboat_poll.sh URLSFILE THREADS ROUNDS
#
# Peer benchmark: newsboat (a C++/Rust terminal feed reader: libcurl + libxml2 + SQLite)
# polling the same upstream feeds syndic's poller polls. Everything newsboat reads or writes is
# in a mktemp -d dir: HOME and XDG dirs point there, and it runs as
#   newsboat -u urls -c cache.db -C config -x reload -d roundN.log -l 3
# with config `reload-threads THREADS`, `download-timeout 30` (NEWSBOAT_TIMEOUT), and
# `download-retries 1`. Each of ROUNDS rounds is one such process under
# /usr/bin/time -f '%e %U %S %M': wall_s is measured around it with date +%s%N (finer than
# %e), cpu_s = user+sys (%U+%S, newsboat's threads included), peak_rss_mb from %M (KiB).
# ok = feeds - errors; errors = "Error while retrieving" lines in the round's log (-l 3 logs errors only).
# Pitfall: newsboat stores a feed's ETag/Last-Modified only when the feed is already in its
# cache, i.e. from its SECOND fetch on, so round 2 is still unconditional and conditional
# requests (If-None-Match / If-Modified-Since) start at round 3. Each round reports
# validators_before (feeds with a stored ETag or Last-Modified when it started). Set
# NEWSBOAT_PRIME=1 to run one extra, untimed reload after round 1, so that rounds 2.. are
# conditional polls like syndic's and reader's.
# Last stdout line:
# {"tool":"newsboat","version":..,"feeds":n,"threads":t,"rounds":[{"wall_s":..,"cpu_s":..,
#  "peak_rss_mb":..,"ok":..,"errors":..,"validators_before":..,"items_after":..}],"items":..}
set -euo pipefail
die() { echo "newsboat_poll.sh: $*" >&2; exit 1; }
[ $# -eq 3 ] || die "usage: newsboat_poll.sh URLSFILE THREADS ROUNDS"
URLS="$1"; THREADS="$2"; ROUNDS="$3"
[[ "$THREADS" =~ ^[1-9][0-9]*$ && "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "THREADS and ROUNDS must be positive integers"
[ -r "$URLS" ] || die "cannot read $URLS"
command -v newsboat >/dev/null || die "newsboat not found (run benches/peers/setup.sh)"
[ -x /usr/bin/time ] || die "/usr/bin/time not found (Debian package 'time'; run benches/peers/setup.sh)"
command -v python3 >/dev/null || die "python3 not found"
ROUND_TIMEOUT="${NEWSBOAT_ROUND_TIMEOUT:-900}"

T="$(mktemp -d "${TMPDIR:-/tmp}/syndic-peers-newsboat.XXXXXX")"
trap 'rm -rf -- "$T"' EXIT
mkdir -p "$T/home" "$T/xdg-config" "$T/xdg-data"
# one URL a line, blanks and comments dropped, duplicates removed (newsboat would poll each once)
awk 'NF && $1 !~ /^#/ && !seen[$1]++ {print $1}' "$URLS" > "$T/urls"
NFEEDS="$(wc -l < "$T/urls")"
[ "$NFEEDS" -gt 0 ] || die "no URLs in $URLS"
cat > "$T/config" <<CONF
reload-threads $THREADS
download-timeout ${NEWSBOAT_TIMEOUT:-30}
download-retries 1
show-read-feeds yes
CONF
export HOME="$T/home" XDG_CONFIG_HOME="$T/xdg-config" XDG_DATA_HOME="$T/xdg-data"
export NO_PROXY="${NO_PROXY:+$NO_PROXY,}127.0.0.0/8,localhost" no_proxy="${no_proxy:+$no_proxy,}127.0.0.0/8,localhost"
VERSION="$(newsboat -v 2>/dev/null | head -1 | sed -n 's/^newsboat \([^ ]*\).*/\1/p')"

sql() {  # sql QUERY -> one value; 0 when the cache does not exist yet
  [ -f "$T/cache.db" ] || { echo 0; return; }
  if command -v sqlite3 >/dev/null; then sqlite3 "$T/cache.db" "$1"
  else python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$T/cache.db" "$1"; fi
}
VALIDATORS="SELECT count(*) FROM rss_feed WHERE (etag IS NOT NULL AND etag != '') OR lastmodified > 0"

reload() {  # reload LOGFILE -> runs one newsboat -x reload under /usr/bin/time
  timeout "$ROUND_TIMEOUT" /usr/bin/time -f '%e %U %S %M' -o "$T/time" \
    newsboat -u "$T/urls" -c "$T/cache.db" -C "$T/config" -x reload -d "$1" -l 3 \
    >"$T/out" 2>"$T/err" || { cat "$T/out" "$T/err" >&2; die "newsboat -x reload failed or timed out (${ROUND_TIMEOUT}s)"; }
}

echo "newsboat_poll.sh: newsboat $VERSION, $NFEEDS feeds, $THREADS reload threads, $ROUNDS rounds" >&2
ROUNDS_JSON=""
for i in $(seq 1 "$ROUNDS"); do
  vb="$(sql "$VALIDATORS")"
  t0="$(date +%s%N)"
  reload "$T/round$i.log"
  t1="$(date +%s%N)"
  read -r _e user sys maxrss < "$T/time"
  errors="$(grep -c 'Error while retrieving' "$T/round$i.log" || true)"
  items="$(sql 'SELECT count(*) FROM rss_item')"
  r="$(python3 -c 'import json,sys; w,u,s,m,n,e,v,it=sys.argv[1:]; print(json.dumps({"wall_s":round(int(w)/1e9,4),"cpu_s":round(float(u)+float(s),3),"peak_rss_mb":round(int(m)/1024,1),"ok":int(n)-int(e),"errors":int(e),"validators_before":int(v),"items_after":int(it)}))' \
        "$((t1 - t0))" "$user" "$sys" "$maxrss" "$NFEEDS" "$errors" "$vb" "$items")"
  echo "newsboat_poll.sh: round $i/$ROUNDS: $r" >&2
  [ "$errors" -eq 0 ] || grep -m1 'Error while retrieving' "$T/round$i.log" | sed 's/^/newsboat_poll.sh:   first error: /' >&2
  ROUNDS_JSON="${ROUNDS_JSON:+$ROUNDS_JSON,}$r"
  if [ "$i" -eq 1 ] && [ "${NEWSBOAT_PRIME:-0}" = 1 ] && [ "$ROUNDS" -gt 1 ]; then
    reload "$T/prime.log"
    echo "newsboat_poll.sh: priming reload done (untimed): $(sql "$VALIDATORS") feeds with validators" >&2
  fi
done

python3 -c 'import json,sys; print(json.dumps({"tool":"newsboat","version":sys.argv[1],"feeds":int(sys.argv[2]),"threads":int(sys.argv[3]),"rounds":json.loads("["+sys.argv[4]+"]"),"items":int(sys.argv[5])}))' \
  "$VERSION" "$NFEEDS" "$THREADS" "$ROUNDS_JSON" "$(sql 'SELECT count(*) FROM rss_item')"
