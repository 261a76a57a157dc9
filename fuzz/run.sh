#!/usr/bin/env bash
# Builds and runs every fuzz target for SECONDS each (default 5), starting from the seeds
# (the test fixtures; fuzz/corpus/ for JSON items; tests/fixtures/fuzz-regressions/ for inputs
# that once crashed a target). Exits non-zero as soon as a target crashes (panics, aborts,
# times out or runs out of memory); libFuzzer leaves the input in fuzz/artifacts/TARGET/.
#
#   fuzz/run.sh [SECONDS] [--long TARGET=SECONDS]
#
# --long gives one target a longer run (CI rotates it by day, see .ci/run), so that over a
# week every target gets minutes, not seconds, within CI's time budget.
#
# New inputs found go to a corpus that outlives the run, $SYNDIC_FUZZ_CORPUS (default
# ~/.cache/syndic-fuzz/TARGET), so that each run starts where the last one on this machine
# stopped; the checked-in seeds stay as they are.
#
# Works on stable Rust: `-s none` turns off the sanitizers (which need nightly's -Zsanitizer);
# coverage guidance and panic detection still work. Needs `cargo install cargo-fuzz --locked`.
# Builds locked, from the root Cargo.lock (fuzz/ is a non-default member of the workspace).
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-5}"
case "$seconds" in
  '' | *[!0-9]*) echo "usage: fuzz/run.sh [SECONDS] [--long TARGET=SECONDS]" >&2; exit 2 ;;
esac
long_target="" long_seconds=0
if [ "${2:-}" = "--long" ]; then
  long_target="${3%%=*}" long_seconds="${3#*=}"
fi
targets=(json_items rss atom upstream opml discover render)
# Seeds: the test fixtures themselves (no copies to keep in step), plus fuzz/corpus/ for the
# JSON items, which have no fixture directory of their own. `render` builds its articles from
# raw bytes (arbitrary), so any bytes seed it.
seeds_for() {
  case "$1" in
    json_items) echo "corpus/json_items" ;;
    rss | atom | upstream) echo "../tests/fixtures/upstream ../tests/fixtures/fuzz-regressions" ;;
    opml) echo "../tests/fixtures/opml" ;;
    discover) echo "../tests/fixtures/discover ../tests/fixtures/fuzz-regressions" ;;
    render) echo "corpus/json_items" ;;
  esac
}

command -v cargo-fuzz >/dev/null || { echo "fuzz: cargo-fuzz is missing (cargo install cargo-fuzz --locked)" >&2; exit 1; }

echo "== cargo fuzz build (sanitizer none, locked)"
# Fails when Cargo.lock is stale, instead of re-locking it and leaving the checkout dirty.
cargo fetch --locked
cargo fuzz build -s none

kept="${SYNDIC_FUZZ_CORPUS:-${XDG_CACHE_HOME:-$HOME/.cache}/syndic-fuzz}"
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
for t in "${targets[@]}"; do
  s="$seconds"
  [ "$t" = "$long_target" ] && s="$long_seconds"
  echo "== fuzz $t for ${s}s"
  mkdir -p "$kept/$t" "artifacts/$t"
  # -timeout: one input taking over 10 s counts as a hang (a crash); -rss_limit_mb bounds memory.
  # timeout(1) is the outer bound in case libFuzzer itself wedges.
  # libFuzzer reports every new input; keep that in a log and show only its final stats.
  log="$logs/$t.log"
  # shellcheck disable=SC2046 # seeds_for may name two directories
  if ! timeout --kill-after=10 $((s + 60)) \
    cargo fuzz run -s none "$t" "$kept/$t" $(seeds_for "$t") -- \
      -max_total_time="$s" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
      -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz: $t failed; the input is in fuzz/artifacts/$t/" >&2
    exit 1
  fi
  grep -E "^stat::number_of_executed_units|^stat::new_units_added|^Done [0-9]+ runs" "$log" || tail -n 2 "$log"
done
echo "== fuzz: ${#targets[@]} targets, ${seconds}s each${long_target:+ ($long_target ${long_seconds}s)}, no crash"
