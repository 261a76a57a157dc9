#!/usr/bin/env bash
# Builds syndic's Debian package with cargo-deb (metadata in Cargo.toml), installs it with
# dpkg, checks what it installed, and removes it again (purge). Needs root or sudo for dpkg.
# It refuses to run where a syndic package is installed already, so that it never removes
# somebody's service. Prints the path of the .deb on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

if dpkg-query -W -f='${Status}' syndic 2>/dev/null | grep -q 'install ok installed'; then
  echo "build-deb: a syndic package is installed on this machine; remove it first (dpkg -r syndic)" >&2
  exit 1
fi
if ! command -v cargo-deb >/dev/null; then
  echo "== cargo install cargo-deb --locked"
  cargo install cargo-deb --locked
fi

echo "== cargo deb"
# cargo-deb builds the release binary itself (cargo build --release, here --locked too) and
# prints the package's path last.
deb=$(cargo deb -- --locked | tail -n 1)
[ -f "$deb" ] || { echo "build-deb: cargo deb did not name a package file: $deb" >&2; exit 1; }
version=$(cargo metadata --no-deps --format-version 1 --locked |
  python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "syndic"))')

echo "== dpkg -i $deb"
# Purged whatever happens from here on.
trap '$sudo dpkg -P syndic >/dev/null 2>&1 || true' EXIT
$sudo dpkg -i "$deb"

fail() { echo "build-deb: $*" >&2; exit 1; }
echo "== checks"
out=$(/usr/bin/syndic --version)
[ "$out" = "syndic $version" ] || fail "syndic --version printed '$out', expected 'syndic $version'"
unit=/lib/systemd/system/syndic.service
[ -f "$unit" ] || unit=/usr/lib/systemd/system/syndic.service
test -f "$unit" || fail "no unit file in /lib/systemd/system or /usr/lib/systemd/system"
cmp -s "$unit" dist/syndic.service || fail "$unit differs from dist/syndic.service"
grep -qx 'DynamicUser=yes' "$unit" || fail "the unit has no DynamicUser=yes"
grep -qx 'StateDirectory=syndic' "$unit" || fail "the unit has no StateDirectory=syndic"
test -f /etc/syndic/syndic.env || fail "no /etc/syndic/syndic.env"
[ "$(stat -c '%a %U' /etc/syndic/syndic.env)" = "640 root" ] ||
  fail "/etc/syndic/syndic.env is $(stat -c '%a %U' /etc/syndic/syndic.env), expected 640 root"
dpkg-query -W -f='${Conffiles}\n' syndic | grep -q '/etc/syndic/syndic.env' ||
  fail "/etc/syndic/syndic.env is not a conffile (an upgrade would overwrite local edits)"
if command -v systemd-analyze >/dev/null; then
  # Offline: no running systemd is needed to check the unit's syntax, that ExecStart
  # resolves to an executable, and the directives this systemd knows.
  $sudo systemd-analyze verify "$unit"
else
  echo "build-deb: systemd-analyze is not installed; unit checked by file only"
fi

echo "== dpkg -P syndic"
$sudo dpkg -P syndic
trap - EXIT
test ! -e /usr/bin/syndic || fail "/usr/bin/syndic is still there after dpkg -P"
test ! -e "$unit" || fail "$unit is still there after dpkg -P"
test ! -e /etc/syndic/syndic.env || fail "/etc/syndic/syndic.env is still there after dpkg -P"
echo "build-deb: ok"
echo "$deb"
