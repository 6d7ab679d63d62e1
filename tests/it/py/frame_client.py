"""A client of netray's framing protocol v1, written from the spec
(docs/protocol.md, design.md) with the standard library only, plus the
classic raw clients of the teaching programs. Exits non-zero on the first
disagreement.

usage: frame_client.py FRAME_ADDR ECHO_ADDR UPPER_ADDR UDP_UPPER_ADDR
"""

import hashlib
import json
import socket
import struct
import sys


def addr(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def send_frame(sock, header, body=b""):
    header = dict(header, size=len(body))
    h = json.dumps(header).encode("utf-8")
    sock.sendall(struct.pack("!I", len(h)) + h + body)


def recv_frame(sock):
    (hlen,) = struct.unpack("!I", recv_exact(sock, 4))
    header = json.loads(recv_exact(sock, hlen).decode("utf-8"))
    body = recv_exact(sock, header["size"])
    return header, body


def check(cond, what):
    if not cond:
        print("FAILED: " + what)
        sys.exit(1)


def main():
    frame, echo, upper, udp = (addr(a) for a in sys.argv[1:5])
    s = socket.create_connection(frame, timeout=10)

    # echo, with and without the upper transform; the id comes back
    send_frame(s, {"op": "echo", "id": 1}, b"sticky packets")
    h, b = recv_frame(s)
    check(h["op"] == "echo" and h["id"] == 1 and b == b"sticky packets", "echo %r %r" % (h, b))
    send_frame(s, {"op": "echo", "id": 2, "transform": "upper"}, b"shout")
    h, b = recv_frame(s)
    check(b == b"SHOUT", "echo upper %r" % b)
    # two frames in one send: the boundaries survive
    one = json.dumps({"op": "echo", "size": 1, "id": 3}).encode()
    two = json.dumps({"op": "echo", "size": 1, "id": 4}).encode()
    s.sendall(struct.pack("!I", len(one)) + one + b"a" + struct.pack("!I", len(two)) + two + b"b")
    h1, b1 = recv_frame(s)
    h2, b2 = recv_frame(s)
    check((h1["id"], b1, h2["id"], b2) == (3, b"a", 4, b"b"), "pipelined echo")
    print("echo ok")

    send_frame(s, {"op": "ping", "id": 5})
    h, _ = recv_frame(s)
    check(h["op"] == "pong" and isinstance(h["t"], int) and h["id"] == 5, "ping %r" % h)
    print("ping ok")

    data = b"hello from python\n"
    digest = hashlib.sha256(data).hexdigest()
    send_frame(s, {"op": "put", "name": "py/hello.txt", "sha256": digest}, data)
    h, _ = recv_frame(s)
    check(h["op"] == "ok" and h["sha256"] == digest and h["bytes"] == len(data), "put %r" % h)
    print("put ok")

    send_frame(s, {"op": "get", "name": "py/hello.txt"})
    h, b = recv_frame(s)
    check(h["op"] == "file" and b == data and hashlib.sha256(b).hexdigest() == h["sha256"], "get %r" % h)
    print("get ok")

    send_frame(s, {"op": "list"})
    h, b = recv_frame(s)
    listing = json.loads(b)
    check(h["op"] == "listing" and [e["name"] for e in listing] == ["py/hello.txt"], "list %r" % listing)
    check(listing[0]["size"] == len(data) and isinstance(listing[0]["mtime"], int), "list fields")
    print("list ok")

    send_frame(s, {"op": "exec", "cmd": "echo", "args": ["a b", "$HOME"]})
    h, b = recv_frame(s)
    check(h["op"] == "result" and h["exit_code"] == 0, "exec %r" % h)
    out, err = b[: h["stdout"]], b[h["stdout"]:]
    check(out == b"a b $HOME\n" and err == b"", "exec output %r" % b)
    print("exec ok")

    payload = bytes(range(256)) * 4096
    send_frame(s, {"op": "discard", "id": 9}, payload)
    h, _ = recv_frame(s)
    check(h["op"] == "ok" and h["bytes"] == len(payload) and h["elapsed_ns"] >= 0, "discard %r" % h)
    print("discard ok")

    # refusals keep the connection in step
    send_frame(s, {"op": "put", "name": "../evil", "sha256": hashlib.sha256(b"x").hexdigest()}, b"x")
    h, _ = recv_frame(s)
    check(h["op"] == "error" and h["code"] == "forbidden", "traversal %r" % h)
    send_frame(s, {"op": "exec", "cmd": "rm", "args": ["-rf", "/"]})
    h, _ = recv_frame(s)
    check(h["op"] == "error" and h["code"] == "forbidden", "exec refused %r" % h)
    send_frame(s, {"op": "nope", "id": 11}, b"123")
    h, _ = recv_frame(s)
    check(h["code"] == "unsupported_op" and h["id"] == 11, "unknown op %r" % h)
    send_frame(s, {"op": "get", "name": "missing"})
    h, _ = recv_frame(s)
    check(h["code"] == "not_found", "missing %r" % h)
    # a header that is not JSON: error, then the server closes
    s.sendall(struct.pack("!I", 5) + b"hello")
    h, _ = recv_frame(s)
    check(h["op"] == "error" and h["code"] == "bad_header", "bad header %r" % h)
    check(s.recv(1) == b"", "closed after a bad header")
    s.close()
    print("errors ok")

    # the classic teaching clients: connect, send, recv, close
    for target, msg, want, name in [
        (echo, b"hello", b"hello", "raw echo"),
        (upper, b"hello, world", b"HELLO, WORLD", "raw upper"),
    ]:
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.settimeout(10)
        c.connect(target)
        c.send(msg)
        got = b""
        while len(got) < len(want):
            chunk = c.recv(1024)
            if not chunk:
                break
            got += chunk
        c.close()
        check(got == want, "%s: %r" % (name, got))
        print(name + " ok")

    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(5)
    u.sendto(b"datagram", udp)
    got, peer = u.recvfrom(2048)
    check(got == b"DATAGRAM" and peer == udp, "udp %r %r" % (got, peer))
    print("udp ok")


if __name__ == "__main__":
    main()
