#!/usr/bin/env bash
# All 65535 TCP ports of 127.0.0.1, nmap's connect scan against netray's,
# in one run, with a handful of listeners started here: both must find
# the same open ports. Best of 3 wall times each, and the ratio (the
# target: netray in at most half of nmap's time).
#
#   scripts/bench/scan.sh
#
# Needs: nmap (apt-get install nmap), python3, cargo.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v nmap >/dev/null || { echo "nmap is not installed (apt-get install nmap)" >&2; exit 1; }
cargo build --release --quiet --bin netray
netray=target/release/netray
tmp=$(mktemp -d)

# five listeners on free ports, for at most 120 s
python3 - "$tmp/ports" <<'PY' &
import socket, sys, time
ls = []
for _ in range(5):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64); ls.append(s)
open(sys.argv[1], "w").write(" ".join(str(s.getsockname()[1]) for s in ls))
time.sleep(120)
PY
listeners=$!
trap 'kill $listeners 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do [ -s "$tmp/ports" ] && break; sleep 0.1; done

. scripts/bench/lib.sh

nm=$(best "$tmp/nmap" nmap -sT -p- -n -Pn -oG - 127.0.0.1)
nr=$(best "$tmp/netray" "$netray" -q scan 127.0.0.1 -p -)

theirs=$(grep -o '[0-9]*/open/tcp' "$tmp/nmap" | cut -d/ -f1 | sort -n | tr '\n' ' ')
ours=$(cut -f2 "$tmp/netray" | cut -d/ -f1 | sort -n | tr '\n' ' ')
for p in $(cat "$tmp/ports"); do
  case " $ours " in *" $p "*) ;; *) echo "netray missed listener port $p" >&2; exit 1 ;; esac
done
[ "$theirs" = "$ours" ] || { echo "open ports differ: nmap [$theirs] netray [$ours]" >&2; exit 1; }

python3 - "$nm" "$nr" "$ours" <<'PY'
import sys
a, b, ports = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split()
print(f"both found the same {len(ports)} open ports of 65535 on 127.0.0.1: {' '.join(ports)}")
print(f"nmap -sT -p- -n -Pn    {a / 1e9:6.3f} s")
print(f"netray scan -p -       {b / 1e9:6.3f} s")
print(f"ratio: netray takes {b / a:.2f} of nmap's time ({a / b:.1f}x faster; target: at most 0.5)")
PY
