#!/usr/bin/env bash
# Throughput of `netray subnet filter` against grepcidr on the same
# 2-million-line log with 3 CIDRs, in one run. Prints both times, lines per
# second, and the ratio (netray throughput / grepcidr throughput).
# Also checks that both print exactly the same lines.
#
#   scripts/bench/filter.sh [LINES]        (default 2000000)
#
# Needs: grepcidr (apt-get install grepcidr), python3, cargo.
set -euo pipefail
cd "$(dirname "$0")/../.."
lines=${1:-2000000}
command -v grepcidr >/dev/null || { echo "grepcidr is not installed (apt-get install grepcidr)" >&2; exit 1; }

cargo build --release --quiet
netray=target/release/netray
data=target/bench-data
mkdir -p "$data"
log="$data/filter-$lines.log"
[ -s "$log" ] || python3 scripts/bench/gen-log.py "$lines" > "$log"
cidrs=(192.0.2.0/24 198.51.100.0/24 203.0.113.0/24)
runs=3

# best of $runs wall times, in seconds with ms precision
best() {
  local best_ns=
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s%N)
    "$@" > /dev/null
    t1=$(date +%s%N)
    local d=$((t1 - t0))
    if [ -z "$best_ns" ] || [ "$d" -lt "$best_ns" ]; then best_ns=$d; fi
  done
  echo "$best_ns"
}

# same output first: a fast wrong answer is no answer
if ! cmp -s <(grepcidr "${cidrs[*]}" "$log") <("$netray" subnet filter "${cidrs[@]}" "$log"); then
  echo "outputs differ between grepcidr and netray" >&2
  exit 1
fi
matched=$("$netray" subnet filter -c "${cidrs[@]}" "$log")

g=$(best grepcidr "${cidrs[*]}" "$log")
n=$(best "$netray" subnet filter "${cidrs[@]}" "$log")
size=$(stat -c %s "$log")
python3 - "$g" "$n" "$lines" "$size" "$matched" <<'PY'
import sys
g, n, lines, size, matched = (int(x) for x in sys.argv[1:])
for name, ns in (("grepcidr", g), ("netray", n)):
    s = ns / 1e9
    print(f"{name:9} {s:7.3f} s  {lines / s / 1e6:6.2f} M lines/s  {size / s / 2**20:7.1f} MiB/s")
print(f"{lines} lines ({size / 2**20:.0f} MiB), {matched} matched, identical output")
print(f"ratio: netray is {g / n:.2f}x grepcidr's throughput (target >= 2x)")
PY
