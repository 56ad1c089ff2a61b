"""roles.py - what runs on the hosts of tools/netlab.

The publisher host (198.18.0.1) is what a publisher runs: an HTTPS origin (a real nginx with a
test CA made now) serving the release, its signed manifest and torrent; an opentracker; and the
publisher's seed (`swarmup seed --from` the release file). The release is published as a
publisher would: a throw-away OpenPGP key made with `gpg --batch` in a temporary GNUPGHOME,
`swarmup-publish make` (hybrid torrent, magnet with tr= and x.pe=) and `swarmup-publish sign`.

Clients run `swarmup fetch` with the manifest's https:// URL, each with its own --state-dir and
--out, and seed afterwards (--seed-time) unless they churn (--seed-time 0: they leave once
installed). A corporate client's namespace gets an nftables ruleset that DROPs everything but
TCP to the origin's port 443 (and the replies to it).
"""
import os
import shutil
import subprocess
import time

from topo import NetlabError, run

PRODUCT = "hello"
NAME = "hello-1.0.tar.gz"
SEED_PORT = 6881
TRACKER_PORT = 6969
CLIENT_PORT = 6881


def _gpg(gnupghome, *args):
    return run(["gpg", "--homedir", gnupghome, "--batch", "--quiet"] + list(args))


def make_release(work, size, build, origin_addr):
    """Keys, payload, torrent, signed manifest and certificates under WORK. Returns a dict."""
    gh = os.path.join(work, "gnupg")
    os.makedirs(gh, mode=0o700)
    www = os.path.join(work, "origin", "www")
    os.makedirs(www)
    _gpg(gh, "--passphrase", "", "--quick-gen-key", "Netlab Publisher <release@netlab.invalid>", "ed25519",
         "sign", "1d")
    fpr = None
    for line in _gpg(gh, "--with-colons", "--list-keys").splitlines():
        if line.startswith("fpr:"):
            fpr = line.split(":")[9]
            break
    if not fpr:
        raise NetlabError("gpg made no key")
    trusted = os.path.join(work, "trusted.asc")
    with open(trusted, "w") as f:
        f.write(_gpg(gh, "--armor", "--export", fpr))
    pkg = os.path.join(www, NAME)
    with open(pkg, "wb") as f:
        left = size
        while left > 0:
            n = min(left, 1 << 20)
            f.write(os.urandom(n))
            left -= n
    base = "https://%s" % origin_addr
    rel = os.path.join(work, "rel")
    os.makedirs(rel)
    out = run([os.path.join(build, "tools", "swarmup-publish"), "make", "--file", pkg, "--product", PRODUCT,
               "--version", "1.0", "--sequence", "1", "--fallback", "%s/%s" % (base, NAME),
               "--tracker", "http://%s:%d/announce" % (origin_addr, TRACKER_PORT),
               "--peer", "%s:%d" % (origin_addr, SEED_PORT), "--out-dir", rel,
               "--torrent-url", "%s/%s.torrent" % (base, NAME)])
    magnet = ""
    for line in out.splitlines():
        if line.startswith("magnet:"):
            magnet = line.split(":", 1)[1].strip()
    hashes = []
    for part in magnet.split("&"):
        if "xt=urn:btih:" in part:
            hashes.append(part.split("urn:btih:")[1][:40])
        if "xt=urn:btmh:1220" in part:
            hashes.append(part.split("urn:btmh:1220")[1][:40])  # v2 hash cut to 20 bytes
    if len(hashes) != 2:
        raise NetlabError("no v1/v2 hash in the magnet: %r" % magnet)
    env = dict(os.environ, GNUPGHOME=gh)
    p = subprocess.run([os.path.join(build, "tools", "swarmup-publish"), "sign", "--draft",
                        os.path.join(rel, "%s-stable.manifest.draft" % PRODUCT), "--file", pkg, "--key", fpr,
                        "--yes", "--out-dir", www], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if p.returncode != 0:
        raise NetlabError("swarmup-publish sign failed: %s" % p.stdout[-500:])
    shutil.copy(os.path.join(rel, NAME + ".torrent"), www)
    _make_certs(os.path.join(work, "origin"), origin_addr)
    return {"gnupghome": gh, "trusted": trusted, "pkg": pkg, "hashes": hashes, "magnet": magnet,
            "manifest_path": os.path.join(www, "%s-stable.manifest" % PRODUCT),
            "manifest_url": "%s/%s-stable.manifest" % (base, PRODUCT),
            "ca": os.path.join(work, "origin", "ca.pem")}


def _make_certs(d, addr):
    """A throw-away CA and a server certificate for ADDR (as tests/lib/nginx.sh makes for 127.0.0.1)."""
    def ossl(*a):
        run(["openssl"] + list(a))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ossl("req", "-x509", *ec, "-keyout", d + "/ca.key", "-out", d + "/ca.pem", "-days", "2",
         "-subj", "/CN=netlab test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    ossl("req", "-new", *ec, "-keyout", d + "/server.key", "-out", d + "/server.csr", "-subj", "/CN=" + addr)
    with open(d + "/server.ext", "w") as f:
        f.write("subjectAltName=IP:%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n" % addr)
    ossl("x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.pem", "-CAkey", d + "/ca.key",
         "-CAcreateserial", "-out", d + "/server.pem", "-days", "2", "-extfile", d + "/server.ext")


class Procs:
    """Every process we start, by PID, so that cleanup can stop it whatever happens."""

    def __init__(self):
        self.all = []

    def start(self, ns, args, log, pipe=False):
        """Start ARGS inside namespace NS (`ip netns exec` execs it: the PID is the program's).
        Its output goes to LOG; with PIPE, stdout is a pipe for us to read and stderr goes to LOG."""
        with open(log, "w") as lf:
            p = subprocess.Popen(["ip", "netns", "exec", ns] + args, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE if pipe else lf,
                                 stderr=lf if pipe else subprocess.STDOUT, start_new_session=True)
        self.all.append(p)
        return p


def _wait(pred, seconds, what, proc=None, log=None):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if pred():
            return
        if proc is not None and proc.poll() is not None:
            tail = open(log).read()[-800:] if log and os.path.exists(log) else ""
            raise NetlabError("%s: the process died (exit %s): %s" % (what, proc.returncode, tail))
        time.sleep(0.1)
    raise NetlabError("%s: not ready after %d s" % (what, seconds))


def _probe(ns, args):
    return subprocess.run(["ip", "netns", "exec", ns] + args, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True, timeout=10)


def start_origin(procs, host, work):
    """nginx on HOST:443 with the test CA; access log of body bytes for the report."""
    d = os.path.join(work, "origin")
    os.makedirs(d + "/tmp", exist_ok=True)
    conf = d + "/nginx.conf"
    with open(conf, "w") as f:
        f.write("""user root;
daemon off;
master_process on;
worker_processes 2;
pid {d}/nginx.pid.nginx;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  types {{ application/octet-stream bin gz torrent; text/plain manifest sig; }}
  default_type application/octet-stream;
  client_body_temp_path {d}/tmp/cb; proxy_temp_path {d}/tmp/p; fastcgi_temp_path {d}/tmp/f;
  uwsgi_temp_path {d}/tmp/u; scgi_temp_path {d}/tmp/s;
  log_format nl '$status $body_bytes_sent "$request" $request_time';
  access_log {d}/access.log nl;
  sendfile on;
  keepalive_timeout 30;
  server {{
    listen {a}:443 ssl;
    ssl_certificate {d}/server.pem;
    ssl_certificate_key {d}/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    root {d}/www;
  }}
}}
""".format(d=d, a=host.addr))
    log = d + "/nginx.out"
    p = procs.start(host.ns, ["nginx", "-e", d + "/error.log", "-p", d, "-c", conf], log)
    _wait(lambda: _probe(host.ns, ["curl", "-sf", "-o", "/dev/null", "--cacert", d + "/ca.pem",
                                   "https://%s/%s" % (host.addr, NAME + ".torrent")]).returncode == 0,
          15, "nginx", p, log)
    return p


def origin_body_bytes(work, name=NAME):
    """Bytes of the release file's bodies nginx sent (200 and 206), from its access log."""
    total = 0
    path = os.path.join(work, "origin", "access.log")
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) > 3 and p[0] in ("200", "206") and ("/" + name + " ") in line:
                total += int(p[1])
    return total


def start_tracker(procs, host, work, hashes):
    """Debian's opentracker on HOST:6969, whitelisting the release's v1 and v2 hashes (it is
    built to track only whitelisted hashes; tests/lib/tracker.sh says why the chroot is 0755)."""
    root = os.path.join(work, "tracker", "root")
    os.makedirs(root)
    os.chmod(root, 0o755)
    with open(root + "/whitelist", "w") as f:
        f.write("".join(h + "\n" for h in hashes))
    os.chmod(root + "/whitelist", 0o644)
    log = os.path.join(work, "tracker", "log")
    p = procs.start(host.ns, ["opentracker", "-i", host.addr, "-p", str(TRACKER_PORT), "-P", str(TRACKER_PORT),
                              "-d", root, "-u", "nobody", "-w", "/whitelist"], log)
    q = "".join("%" + hashes[0][i:i + 2] for i in range(0, 40, 2))
    url = ("http://%s:%d/announce?info_hash=%s&peer_id=-NL0000-selfcheck000&port=1&uploaded=0&downloaded=0"
           "&left=0&compact=1&event=stopped" % (host.addr, TRACKER_PORT, q))

    def ready():
        r = _probe(host.ns, ["curl", "-s", "--max-time", "2", url])
        return r.returncode == 0 and r.stdout and "not authorized" not in r.stdout
    _wait(ready, 15, "opentracker", p, log)
    return p


def start_seed(procs, host, work, rel, build, super_seed):
    """The publisher's seed: `swarmup seed --from` the origin's file (it must pass the gate)."""
    d = os.path.join(work, "pubseed")
    os.makedirs(d)
    log = d + "/log"
    args = [os.path.join(build, "swarmup"), "seed", "--manifest", rel["manifest_path"], "--trusted-key",
            rel["trusted"], "--product", PRODUCT, "--from", rel["pkg"], "--state-dir", d + "/state",
            "--listen", "%s:%d" % (host.addr, SEED_PORT), "--no-dht", "--no-lsd", "--no-utp", "--json",
            "--no-progress"]
    if super_seed:
        args.append("--super-seed")
    p = procs.start(host.ns, args, log)
    _wait(lambda: '"event":"seeding"' in open(log).read(), 120, "the publisher's seed", p, log)
    return p, log


def seed_final_upload(log):
    """The payload bytes the publisher's seed reported at its stop (its last upload event)."""
    import json
    up = None
    with open(log) as f:
        for line in f:
            if '"event":"upload"' in line:
                try:
                    up = json.loads(line).get("uploaded", up)
                except ValueError:
                    pass
    return up


def corporate_firewall(host, origin_addr, work):
    """nftables in HOST's namespace: only TCP to ORIGIN:443 out, only its replies in; a named
    counter counts what it dropped."""
    path = os.path.join(work, "fw-%s.nft" % host.name)
    with open(path, "w") as f:
        f.write("""table inet netlab_corp {
  chain out {
    type filter hook output priority 0; policy drop;
    oif "lo" accept
    ct state established,related accept
    ip daddr %s tcp dport 443 accept
    counter name dropped drop
  }
  chain in {
    type filter hook input priority 0; policy drop;
    iif "lo" accept
    ct state established,related accept
    counter name dropped drop
  }
  counter dropped { }
}
""" % origin_addr)
    run(["ip", "netns", "exec", host.ns, "nft", "-f", path])


def firewall_dropped(host):
    """Packets the corporate firewall of HOST dropped so far (proof that it was in force)."""
    import json
    out = run(["ip", "netns", "exec", host.ns, "nft", "-j", "list", "counter", "inet", "netlab_corp", "dropped"],
              check=False, quiet=True)
    try:
        for item in json.loads(out or "{}").get("nftables", []):
            if "counter" in item:
                return item["counter"].get("packets")
    except ValueError:
        pass
    return None


def client_args(build, host, work, rel, i, https_only, seed_time, swarm_timeout, min_rate=None, prefer_swarm=False,
                rates=None):
    d = os.path.join(work, "c", str(i))
    os.makedirs(d + "/state")
    os.makedirs(d + "/out")
    args = [os.path.join(build, "swarmup"), "fetch", "--manifest", rel["manifest_url"], "--trusted-key",
            rel["trusted"], "--product", PRODUCT, "--state-dir", d + "/state", "--out", d + "/out",
            "--ca-file", rel["ca"], "--json", "--no-progress"]
    if min_rate is not None:
        args += ["--min-rate", str(min_rate)]
    for opt, v in sorted((rates or {}).items()):
        args += [opt, str(v)]
    if https_only:
        args += ["--no-swarm", "--seed-time", "0"]
    else:
        args += ["--listen", "%s:%d" % (host.addr, CLIENT_PORT), "--no-dht", "--no-lsd", "--no-utp",
                 "--seed-time", str(seed_time)]
        if swarm_timeout is not None:
            args += ["--swarm-timeout", str(swarm_timeout)]
        if prefer_swarm:
            args += ["--prefer-swarm"]
    return args, d
