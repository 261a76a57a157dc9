#!/usr/bin/env bash
# Builds and runs every fuzz target for SECONDS each (default 5), starting from the seeds
# (the test fixtures; fuzz/corpus/ for JSON items). Exits non-zero as soon as a target crashes
# (panics, aborts, times out or runs out of memory); libFuzzer leaves the input in
# fuzz/artifacts/TARGET/.
#
# Works on stable Rust: `-s none` turns off the sanitizers (which need nightly's -Zsanitizer);
# coverage guidance and panic detection still work. Needs `cargo install cargo-fuzz --locked`.
# New inputs found go to a scratch directory, so the checked-in seeds stay as they are.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-5}"
case "$seconds" in
  '' | *[!0-9]*) echo "usage: fuzz/run.sh [SECONDS]" >&2; exit 2 ;;
esac
targets=(json_items rss atom upstream opml discover)
# Seeds: the test fixtures themselves (no copies to keep in step), plus fuzz/corpus/ for the
# JSON items, which have no fixture directory of their own.
seeds_for() {
  case "$1" in
    json_items) echo "corpus/json_items" ;;
    rss | atom | upstream) echo "../tests/fixtures/upstream" ;;
    opml) echo "../tests/fixtures/opml" ;;
    discover) echo "../tests/fixtures/discover" ;;
  esac
}

command -v cargo-fuzz >/dev/null || { echo "fuzz: cargo-fuzz is missing (cargo install cargo-fuzz --locked)" >&2; exit 1; }

echo "== cargo fuzz build (sanitizer none)"
cargo fuzz build -s none

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
  echo "== fuzz $t for ${seconds}s"
  mkdir -p "$scratch/$t" "artifacts/$t"
  # -timeout: one input taking over 10 s counts as a hang (a crash); -rss_limit_mb bounds memory.
  # timeout(1) is the outer bound in case libFuzzer itself wedges.
  # libFuzzer reports every new input; keep that in a log and show only its final stats.
  log="$scratch/$t.log"
  if ! timeout --kill-after=10 $((seconds + 60)) \
    cargo fuzz run -s none "$t" "$scratch/$t" "$(seeds_for "$t")" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
      -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz: $t failed; the input is in fuzz/artifacts/$t/" >&2
    exit 1
  fi
  grep -E "^stat::number_of_executed_units|^Done [0-9]+ runs" "$log" || tail -n 2 "$log"
done
echo "== fuzz: ${#targets[@]} targets, ${seconds}s each, no crash"
