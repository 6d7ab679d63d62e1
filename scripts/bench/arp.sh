#!/usr/bin/env bash
# arp scan against arp-scan, in one run, in the same namespace LAN: a
# /24 with N hosts (default 50) and a gateway, both tools with their
# default settings, each run 3 times (best time kept). Checks that both
# find the same hosts with the same MACs, then prints both wall times
# and the ratio (the target: netray in at most half arp-scan's time).
#
#   sudo scripts/bench/arp.sh [HOSTS]
#
# Needs: root (network namespaces), arp-scan (apt-get install arp-scan).
set -euo pipefail
cd "$(dirname "$0")/../.."
hosts=${1:-50}
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
command -v arp-scan >/dev/null || { echo "arp-scan is not installed (apt-get install arp-scan)" >&2; exit 1; }
cargo build --release --quiet --bin netray
netray=$PWD/target/release/netray

. scripts/bench/lan.sh
trap lan_down EXIT
lan_up "$hosts"
in_me() { ip netns exec "$LAN_ME" "$@"; }

tmp=$(mktemp -d)
trap 'lan_down; rm -rf "$tmp"' EXIT
. scripts/bench/lib.sh

as_ns=$(best "$tmp/as" in_me arp-scan --localnet -I lan0 -q -x)
nr_ns=$(best "$tmp/nr" in_me "$netray" arp scan -i lan0 -q)

as_set=$(awk 'NF >= 2 {print $1, $2}' "$tmp/as" | sort)
nr_set=$(awk 'NF >= 2 {print $1, $2}' "$tmp/nr" | sort)
want=$((hosts + 1))
[ "$(echo "$nr_set" | wc -l)" = "$want" ] || { echo "netray found $(echo "$nr_set" | wc -l) hosts, not $want" >&2; exit 1; }
[ "$as_set" = "$nr_set" ] || { echo "arp-scan and netray disagree:"; diff <(echo "$as_set") <(echo "$nr_set") || true; exit 1; }

python3 - "$want" "$as_ns" "$nr_ns" <<'PY'
import sys
n, a, b = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
print(f"both found the same {n} hosts (MACs equal) on a /24")
print(f"arp-scan --localnet   {a / 1e9:6.3f} s")
print(f"netray arp scan       {b / 1e9:6.3f} s")
print(f"ratio: netray takes {b / a:.2f} of arp-scan's time ({a / b:.1f}x faster; target: at most 0.5)")
PY
