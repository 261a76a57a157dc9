#!/usr/bin/env bash
# nginx.sh start DIR PORT   -- serve DIR statically on 127.0.0.1:PORT (daemonized, 2 workers)
# nginx.sh stop  [DIR] PORT -- stop the instance this script started on PORT
#
# The peer for syndic's feed serving: a tuned static file server. gzip_static on (FILE.gz is
# sent to clients that send Accept-Encoding: gzip, with Vary), etag on (If-None-Match -> 304),
# access_log off, open_file_cache, .xml served as application/rss+xml. Everything nginx
# writes (pid, error log, temp paths, config) lives in a mktemp -d state dir; the system
# config (/etc/nginx) is not read (own -c, -p and -e). The state dir's path is kept in
# ${TMPDIR:-/tmp}/syndic-peers-nginx.PORT so `stop` can find it.
set -euo pipefail
die() { echo "nginx.sh: $*" >&2; exit 1; }
usage() { die "usage: nginx.sh start DIR PORT | nginx.sh stop [DIR] PORT"; }

NGINX="$(command -v nginx || true)"
if [ -z "$NGINX" ] && [ -x /usr/sbin/nginx ]; then NGINX=/usr/sbin/nginx; fi
[ -n "$NGINX" ] || die "nginx not found (run benches/peers/setup.sh)"

cmd="${1:-}"; shift || true
case "$cmd" in
  start) [ $# -eq 2 ] || usage; DIR="$1"; PORT="$2" ;;
  stop)  [ $# -ge 1 ] && [ $# -le 2 ] || usage; PORT="${!#}" ;;
  *) usage ;;
esac
[[ "$PORT" =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || die "bad PORT: $PORT"
POINTER="${TMPDIR:-/tmp}/syndic-peers-nginx.$PORT"

stop_instance() {
  [ -f "$POINTER" ] || return 1
  local S; S="$(cat "$POINTER")"
  if [ -f "$S/nginx.pid" ]; then
    local pid; pid="$(cat "$S/nginx.pid")"
    if kill -0 "$pid" 2>/dev/null; then
      "$NGINX" -p "$S/" -c "$S/nginx.conf" -e "$S/error.log" -s quit 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
      if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; sleep 0.5; fi
      kill -0 "$pid" 2>/dev/null && die "nginx (pid $pid) on port $PORT did not stop"
    fi
  fi
  case "$S" in */syndic-peers-nginx.*) rm -rf -- "$S" ;; esac
  rm -f -- "$POINTER"
  echo "nginx.sh: stopped nginx on 127.0.0.1:$PORT" >&2
  return 0
}

if [ "$cmd" = stop ]; then
  stop_instance || echo "nginx.sh: no instance of ours on port $PORT (nothing to stop)" >&2
  exit 0
fi

[ -d "$DIR" ] || die "DIR not found: $DIR"
DIR="$(cd "$DIR" && pwd)"
# idempotent: replace a previous instance of ours on the same port
stop_instance 2>/dev/null || true

S="$(mktemp -d "${TMPDIR:-/tmp}/syndic-peers-nginx.XXXXXX")"
mkdir -p "$S/tmp"
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root root;"   # workers must read DIR even if it is a 0700 temp dir
cat > "$S/nginx.conf" <<CONF
$USER_LINE
worker_processes 2;
worker_rlimit_nofile 65536;
daemon on;
pid $S/nginx.pid;
error_log $S/error.log warn;
events { worker_connections 8192; multi_accept on; }
http {
  types {
    application/rss+xml   xml rss;
    application/atom+xml  atom;
    application/feed+json json;
    text/html             html htm;
  }
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  open_file_cache max=50000 inactive=60s;
  open_file_cache_valid 60s;
  open_file_cache_errors on;
  client_body_temp_path $S/tmp/client_body;
  proxy_temp_path       $S/tmp/proxy;
  fastcgi_temp_path     $S/tmp/fastcgi;
  uwsgi_temp_path       $S/tmp/uwsgi;
  scgi_temp_path        $S/tmp/scgi;
  server {
    listen 127.0.0.1:$PORT backlog=4096;
    server_name localhost;
    root $DIR;
    etag on;
    gzip off;
    gzip_static on;
    gzip_vary on;
    location / { try_files \$uri =404; }
  }
}
CONF
echo "$S" > "$POINTER"
if ! "$NGINX" -p "$S/" -c "$S/nginx.conf" -e "$S/error.log" 2>"$S/start.err"; then
  cat "$S/start.err" "$S/error.log" 2>/dev/null >&2 || true
  rm -rf -- "$S" "$POINTER"
  die "nginx failed to start on 127.0.0.1:$PORT"
fi
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "nginx.sh: nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///') serving $DIR on 127.0.0.1:$PORT (pid $(cat "$S/nginx.pid"), state $S)" >&2
    exit 0
  fi
  sleep 0.05
done
cat "$S/error.log" >&2 || true
stop_instance || true
die "nginx did not accept connections on 127.0.0.1:$PORT"
