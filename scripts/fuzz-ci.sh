#!/usr/bin/env bash
# Every fuzz target for a short fixed time, from a scratch copy of its kept
# corpus (fuzz/corpus/TARGET, which holds every crash ever found). Fails on
# the first crash; libFuzzer prints the input's path under fuzz/artifacts/.
#
#   scripts/fuzz-ci.sh [SECONDS-PER-TARGET]   (default 20)
#
# Needs cargo-fuzz (installed here when missing) and a toolchain that
# accepts -Z flags (RUSTC_BOOTSTRAP=1 on stable).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-20}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet
export RUSTC_BOOTSTRAP=1
cargo fuzz build 2>&1 | tail -1
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in $(cargo fuzz list); do
  mkdir -p "$scratch/$t" "corpus/$t"
  # -timeout: one input taking 10 s is a hang, and a failure
  if ! out=$(cargo fuzz run "$t" "$scratch/$t" "corpus/$t" -- \
      -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 2>&1); then
    echo "$out" | tail -40
    echo "fuzz target $t failed" >&2
    exit 1
  fi
  runs=$(echo "$out" | sed -n 's/^stat::number_of_executed_units: *//p' | tail -1)
  echo "$t: ${runs:-?} runs in ${secs} s, no crash"
done
