#!/usr/bin/env bash
# The probe servers on loopback against iperf3, in one run:
#   1. single-stream throughput: `netray bench` to a frame server's discard
#      vs `iperf3 -c` (target: at least 0.8 of iperf3);
#   2. `netray file put` of a 1 GiB file, hashing on both ends included,
#      vs iperf3's throughput (target: at least 0.5);
#   3. round trips per second of the echo server with 100 concurrent
#      clients (`netray bench --rr -P 100`; target: at least 100k/s).
# Each figure is the best of 3 runs, netray's and iperf3's interleaved.
#
#   scripts/bench/probe.sh [SECONDS]    (seconds per throughput run, default 3)
#
# Needs: iperf3 (apt-get install iperf3), python3, cargo.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-3}
command -v iperf3 >/dev/null || { echo "iperf3 is not installed (apt-get install iperf3)" >&2; exit 1; }
cargo build --release --quiet --bin netray
netray=$PWD/target/release/netray
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "nothing listens on $1" >&2; exit 1; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

ip=$(free_port); iperf3 -s -B 127.0.0.1 -p "$ip" >/dev/null 2>&1 & pids+=($!)
fp=$(free_port); mkdir "$tmp/root"
"$netray" serve tcp --bind "127.0.0.1:$fp" --root "$tmp/root" 2>/dev/null & pids+=($!)
ep=$(free_port); "$netray" serve tcp --bind "127.0.0.1:$ep" --mode echo --max-conns 200 2>/dev/null & pids+=($!)
wait_port "$ip"; wait_port "$fp"; wait_port "$ep"

# a 1 GiB file of random bytes (hashing cannot shortcut it)
head -c 1G /dev/urandom > "$tmp/big"

best_iperf=0; best_bench=0; best_put=0; best_put_s=0; best_rr=0
for run in 1 2 3; do
  i=$(iperf3 -c 127.0.0.1 -p "$ip" -t "$secs" -J | json "d['end']['sum_received']['bits_per_second']")
  b=$("$netray" --json bench "127.0.0.1:$fp" -t "$secs" | json "d['total']['bits_per_second']")
  p=$("$netray" --json file put "127.0.0.1:$fp" "$tmp/big" --as big --overwrite | json "d['bits_per_second'], d['seconds']")
  r=$("$netray" --json bench "127.0.0.1:$ep" --rr -P 100 -t "$secs" | json "d['total']['round_trips_per_second']")
  read -r pb ps <<<"$p"
  python3 -c "print(f'run $run: iperf3 {$i/1e9:.2f} Gbit/s, bench {$b/1e9:.2f} Gbit/s, put 1 GiB {$ps:.3f} s, echo {$r:.0f} round trips/s')"
  best_iperf=$(python3 -c "print(max($best_iperf, $i))")
  best_bench=$(python3 -c "print(max($best_bench, $b))")
  if python3 -c "import sys; sys.exit(0 if $pb > $best_put else 1)"; then best_put=$pb; best_put_s=$ps; fi
  best_rr=$(python3 -c "print(max($best_rr, $r))")
done

# the stored file is the file
[ "$(sha256sum < "$tmp/big")" = "$(sha256sum < "$tmp/root/big")" ] || { echo "the stored file differs" >&2; exit 1; }

python3 - "$best_iperf" "$best_bench" "$best_put" "$best_put_s" "$best_rr" <<'PY'
import sys
iperf, bench, put, put_s, rr = map(float, sys.argv[1:])
print(f"iperf3 -c (1 stream)        {iperf / 1e9:7.2f} Gbit/s")
print(f"netray bench (1 stream)     {bench / 1e9:7.2f} Gbit/s   ratio {bench / iperf:.2f} of iperf3 (target: at least 0.8)")
print(f"netray file put 1 GiB       {put / 1e9:7.2f} Gbit/s   ({put_s:.3f} s, SHA-256 on both ends) ratio {put / iperf:.2f} of iperf3 (target: at least 0.5)")
print(f"echo server, 100 clients    {rr:9.0f} round trips/s (target: at least 100000)")
PY
