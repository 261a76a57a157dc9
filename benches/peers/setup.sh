#!/usr/bin/env bash
# Installs the peer tools the benchmarks in this directory compare syndic against,
# only when they are missing. Idempotent: a second run installs nothing.
#   Debian: wrk nginx-light hugo newsboat hyperfine time (sqlite3 optional)
#   PyPI:   feedparser==6.0.14 reader==3.26 sgmllib3k==1.0.0 (+ feedparser-sgmllib==2.1.0,
#           which is what feedparser 6.0.14 actually imports)
#   npm:    `npm ci` in node/ (feed@6.0.0, pinned in node/package-lock.json)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { echo "setup.sh: $*" >&2; }

SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { log "not root and no sudo: cannot apt-get install"; exit 1; }
  SUDO="sudo"
fi

# --- Debian packages: command -> package
declare -A APT=( [wrk]=wrk [nginx]=nginx-light [hugo]=hugo [newsboat]=newsboat [hyperfine]=hyperfine )
missing=()
for cmd in "${!APT[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$cmd" ]; then missing+=("${APT[$cmd]}"); fi
done
[ -x /usr/bin/time ] || missing+=(time)
if [ "${#missing[@]}" -gt 0 ]; then
  log "apt-get install: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2
  # nginx-light is Debian 12's small nginx (with gzip_static); fall back to nginx elsewhere.
  if [[ " ${missing[*]} " == *" nginx-light "* ]] && ! apt-cache show nginx-light >/dev/null 2>&1; then
    missing=("${missing[@]/nginx-light/nginx}")
  fi
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  # The package's postinst may start the system nginx on :80; our benches run their own instance.
  if [[ " ${missing[*]} " == *" nginx"* ]]; then
    $SUDO systemctl disable --now nginx >/dev/null 2>&1 || $SUDO service nginx stop >/dev/null 2>&1 || true
  fi
else
  log "Debian packages: all present"
fi

# --- PyPI packages (pinned)
PY="${PYTHON:-python3}"
PIP_PKGS=(feedparser==6.0.14 feedparser-sgmllib==2.1.0 sgmllib3k==1.0.0 reader==3.26)
need_pip=()
for spec in "${PIP_PKGS[@]}"; do
  name="${spec%%==*}"; want="${spec##*==}"
  have="$( ("$PY" -m pip show "$name" 2>/dev/null || true) | awk '/^Version:/{print $2}')"
  [ "$have" = "$want" ] || need_pip+=("$spec")
done
if [ "${#need_pip[@]}" -gt 0 ]; then
  log "pip install: ${need_pip[*]}"
  "$PY" -m pip install -q --disable-pip-version-check --root-user-action=ignore "${need_pip[@]}" >&2
else
  log "PyPI packages: all present"
fi

# --- npm (lockfile-pinned)
command -v npm >/dev/null || { log "npm is missing (Node 20 expected)"; exit 1; }
if [ -d "$HERE/node/node_modules/feed" ] && \
   [ "$(node -p "require('$HERE/node/node_modules/feed/package.json').version")" = \
     "$(node -p "require('$HERE/node/package-lock.json').packages['node_modules/feed'].version")" ]; then
  log "npm packages: present"
else
  log "npm ci in node/"
  (cd "$HERE/node" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

log "versions:"
{
  echo "  wrk: $(wrk -v 2>&1 | head -1)"
  echo "  nginx: $("$(command -v nginx || echo /usr/sbin/nginx)" -v 2>&1)"
  echo "  hugo: $(hugo version 2>/dev/null)"
  echo "  newsboat: $(newsboat -v 2>/dev/null | head -1)"
  echo "  hyperfine: $(hyperfine --version)"
  echo "  feedparser: $("$PY" -c 'import feedparser; print(feedparser.__version__)')"
  echo "  reader: $("$PY" -c 'import reader; print(reader.__version__)')"
  echo "  npm feed: $(node -p "require('$HERE/node/node_modules/feed/package.json').version")"
} >&2
log "ok"
