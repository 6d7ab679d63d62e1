#!/usr/bin/env bash
# decode, --json and stats throughput against tcpdump and tshark, in one run
# on the same synthetic 1-million-packet Ethernet capture (TCP flows with
# options, DNS, IPv6, ARP, 802.1Q/QinQ, ICMP/ICMPv6, IPv4 fragments; made
# by examples/gen_capture.rs). All outputs go to /dev/null. Prints each
# time (best of 3), packets per second, and the ratios; then netray's peak
# RSS while decoding a 1 GB capture.
#
#   scripts/bench/decode.sh [PACKETS]        (default 1000000)
#   NO_RSS=1 scripts/bench/decode.sh          (skip the 1 GB memory check)
#
# Needs: tcpdump and tshark (apt-get install tcpdump tshark), cargo.
set -euo pipefail
cd "$(dirname "$0")/../.."
packets=${1:-1000000}
for t in tcpdump tshark; do
  command -v "$t" >/dev/null || { echo "$t is not installed (apt-get install tcpdump tshark)" >&2; exit 1; }
done
cargo build --release --quiet --bin netray --example gen_capture
netray=target/release/netray
data=target/bench-data
mkdir -p "$data"
cap="$data/mix-$packets.pcap"
[ -s "$cap" ] || target/release/examples/gen_capture "$cap" "$packets" 20261122

best() {
  local best_ns=
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s%N)
    "$@" > /dev/null 2>&1
    t1=$(date +%s%N)
    local d=$((t1 - t0))
    if [ -z "$best_ns" ] || [ "$d" -lt "$best_ns" ]; then best_ns=$d; fi
  done
  echo "$best_ns"
}

# the anchors must read the file too, or the comparison means nothing
[ "$(tcpdump -n -r "$cap" 2>/dev/null | wc -l)" = "$("$netray" decode "$cap" | wc -l)" ] \
  || { echo "tcpdump and netray disagree on the packet count" >&2; exit 1; }

td=$(best tcpdump -n -r "$cap")
nd=$(best "$netray" decode "$cap")
nj=$(best "$netray" --json decode "$cap")
ts=$(best tshark -n -q -z conv,tcp -r "$cap")
ns=$(best "$netray" stats "$cap")

python3 - "$packets" "$td" "$nd" "$nj" "$ts" "$ns" <<'PY'
import sys
n, td, nd, nj, ts, ns = (int(x) for x in sys.argv[1:])
def row(name, ns_):
    s = ns_ / 1e9
    print(f"{name:34} {s:7.3f} s  {n / s / 1e6:6.2f} M packets/s")
row("tcpdump -n -r", td)
row("netray decode", nd)
row("netray --json decode", nj)
row("tshark -q -z conv,tcp", ts)
row("netray stats", ns)
print(f"ratio: decode is {td / nd:.1f}x tcpdump (target >= 10x)")
print(f"ratio: --json is {td / nj:.1f}x tcpdump (target >= 5x)")
print(f"ratio: stats is {ts / ns:.1f}x tshark conv,tcp (target >= 10x)")
PY

if [ -z "${NO_RSS:-}" ]; then
  big="$data/mix-1g.pcap"
  [ -s "$big" ] || target/release/examples/gen_capture "$big" 9300000 7
  size=$(stat -c %s "$big")
  rss=$( { /usr/bin/time -f "%M" "$netray" decode "$big" > /dev/null; } 2>&1 | tail -1)
  echo "peak RSS decoding $((size / 1048576)) MiB: $((rss / 1024)) MiB (target < 64 MiB)"
fi
