#!/usr/bin/python3
"""Bounded TCP and UDP listeners on 127.0.0.1 that record whoever contacts them (tests only).

  listeners.py --ports-file F --log L --timeout S NAME=tcp|udp ...

Binds one socket per NAME on 127.0.0.1 with a free port and writes "NAME PORT"
lines to F (written whole to F.tmp, then renamed, so a reader never sees half
of it). Every accepted TCP connection and every UDP datagram is logged to L as
one line, flushed at once:

  NAME tcp-connect PEER
  NAME tcp-data PEER <first bytes, repr>
  NAME udp PEER <first bytes, repr>

It answers nothing (an HTTP tracker or web seed request gets no reply: the
client sees a timeout or a reset). It exits after S seconds at the latest, or
on SIGTERM; every line is flushed before os._exit. Run it with /usr/bin/python3.
"""
import argparse
import os
import selectors
import signal
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ports-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--timeout", type=float, required=True)
    ap.add_argument("specs", nargs="+")
    a = ap.parse_args()

    log = open(a.log, "a", buffering=1)

    def record(line):
        log.write(line + "\n")
        log.flush()

    def stop(*_):
        log.flush()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    sel = selectors.DefaultSelector()
    lines = []
    for spec in a.specs:
        name, _, kind = spec.partition("=")
        if kind not in ("tcp", "udp") or not name:
            sys.stderr.write("listeners.py: bad spec %r (want NAME=tcp|udp)\n" % spec)
            sys.stderr.flush()
            os._exit(2)
        if kind == "tcp":
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            s.listen(16)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, ("listen", name, kind))
        lines.append("%s %d\n" % (name, s.getsockname()[1]))

    tmp = a.ports_file + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(lines)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, a.ports_file)

    end = time.monotonic() + a.timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        for key, _ in sel.select(timeout=min(left, 1.0)):
            role, name, kind = key.data
            sock = key.fileobj
            try:
                if role == "listen" and kind == "udp":
                    data, peer = sock.recvfrom(2048)
                    record("%s udp %s:%d %r" % (name, peer[0], peer[1], data[:120]))
                elif role == "listen":
                    conn, peer = sock.accept()
                    conn.setblocking(False)
                    record("%s tcp-connect %s:%d" % (name, peer[0], peer[1]))
                    sel.register(conn, selectors.EVENT_READ, ("conn", name, "%s:%d" % peer))
                else:
                    data = sock.recv(2048)
                    if data:
                        record("%s tcp-data %s %r" % (name, kind, data[:120]))
                    sel.unregister(sock)
                    sock.close()
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as e:
                record("%s error %s" % (name, e))
                try:
                    sel.unregister(sock)
                except (KeyError, ValueError):
                    pass
    log.flush()
    os._exit(0)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # never lose what was recorded: report and exit non-zero
        sys.stderr.write("listeners.py: %s\n" % e)
        sys.stderr.flush()
        os._exit(1)
