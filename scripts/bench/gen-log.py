#!/usr/bin/env python3
"""Writes a synthetic log of N lines (default 2,000,000) to stdout for the
subnet filter benchmark: web access, sshd, firewall and IPv6 lines, and
lines without addresses, with addresses drawn from the whole IPv4 space and
a share inside the benchmark's three CIDRs. Deterministic (seeded)."""
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
rnd = random.Random(20261122)
out = sys.stdout
nets = [(0xC0000200, 8), (0xC6336400, 8), (0xCB007100, 8)]  # the /24s of the script


def v4():
    if rnd.random() < 0.2:
        base, bits = rnd.choice(nets)
        a = base | rnd.getrandbits(bits)
    else:
        a = rnd.getrandbits(32)
    return f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"


def v6():
    return "2001:db8:%x::%x" % (rnd.getrandbits(16), rnd.getrandbits(16))


paths = ["/", "/index.html", "/api/v1/items?id=42", "/static/app.js", "/login"]
buf = []
for i in range(n):
    k = rnd.random()
    if k < 0.45:
        line = (f'{v4()} - - [22/Nov/2026:10:{i % 60:02d}:{(i // 60) % 60:02d} +0000] '
                f'"GET {rnd.choice(paths)} HTTP/1.1" {rnd.choice((200, 200, 304, 404))} '
                f'{rnd.randint(100, 90000)} "-" "curl/8.5.0"')
    elif k < 0.70:
        line = (f"Nov 22 10:{i % 60:02d}:07 gw sshd[{rnd.randint(1000, 99999)}]: Failed password "
                f"for invalid user admin from {v4()} port {rnd.randint(1024, 65535)} ssh2")
    elif k < 0.85:
        line = (f"Nov 22 10:00:01 gw kernel: [UFW BLOCK] IN=eth0 OUT= SRC={v4()} DST={v4()} "
                f"LEN=60 TOS=0x00 TTL={rnd.randint(30, 128)} PROTO=TCP SPT={rnd.randint(1024, 65535)} DPT=22")
    elif k < 0.93:
        line = f"Nov 22 10:00:02 gw named[812]: client @0x7f {v6()}#53211 (example.com): query A"
    else:
        line = f"Nov 22 10:00:03 gw cron[{rnd.randint(100, 999)}]: (root) CMD (run-parts /etc/cron.hourly) v2.3.1"
    buf.append(line)
    if len(buf) == 10000:
        out.write("\n".join(buf) + "\n")
        buf = []
if buf:
    out.write("\n".join(buf) + "\n")
