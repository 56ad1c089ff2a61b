#!/usr/bin/python3
"""Print a port that is free on 127.0.0.1 for TCP and UDP now, for a server a test starts next.

Why not bind port 0 and print what the kernel chose: that port is from the ephemeral range
(/proc/sys/net/ipv4/ip_local_port_range), the same range the kernel draws the source port of
every outgoing connection from. Between this helper's exit and the server's bind, any other
connection on the machine (two ctest jobs run at once, each with libtorrent peers, nginx,
curl) may take it; libtorrent then falls back to another port and a peer that dials the
printed one is refused (seen in CI: a super-seed test whose seeder moved ports). A port below
the ephemeral range is never handed out that way, so only another test choosing the same
random port could collide, and a random choice among thousands makes that rare.

Usage: freeport.py            one port
"""
import random
import socket
import sys

LOW_FLOOR = 20000  # below this, well-known and registered services cluster


def ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_both(port):
    """True if port binds on 127.0.0.1 for TCP (and listens) and for UDP right now."""
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        t.bind(("127.0.0.1", port))
        t.listen(1)
        u.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        t.close()
        u.close()


def main():
    hi = ephemeral_low() - 1
    lo = LOW_FLOOR if hi - LOW_FLOOR >= 1000 else 1024
    rng = random.SystemRandom()
    for _ in range(200):
        p = rng.randint(lo, hi)
        if free_both(p):
            print(p)
            sys.stdout.flush()
            return 0
    print("freeport.py: no free port in %d-%d after 200 tries" % (lo, hi), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
