/* test_swarm.c - torrent/swarm: making and reading torrents, and (part 2) the
 * session on a libuv loop against a real python-libtorrent peer on 127.0.0.1. */
#include "sw_test.h"
#include "sw_testfs.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "sw_limits.h"
#include "swarm.h"

#define LT_PY "/usr/bin/python3"

/* ------------------------------------------------------------ helpers */

/* Write n pseudo-random bytes (seeded, so a test can rewrite the same file). */
static void write_random(const char *path, size_t n, unsigned seed) {
  FILE *f = fopen(path, "wb");
  SW_ASSERT(f != NULL);
  uint64_t x = 0x9e3779b97f4a7c15ull ^ seed;
  uint8_t buf[65536];
  size_t done = 0;
  while (done < n) {
    size_t k = n - done < sizeof buf ? n - done : sizeof buf;
    for (size_t i = 0; i < k; i++) {
      x ^= x << 13; x ^= x >> 7; x ^= x << 17;
      buf[i] = (uint8_t)x;
    }
    SW_ASSERT_EQ_INT(fwrite(buf, 1, k, f), k);
    done += k;
  }
  SW_ASSERT_EQ_INT(fclose(f), 0);
}

/* Run a shell command, capture its first line of stdout into out. */
static int run_capture(const char *cmd, char *out, size_t cap) {
  FILE *p = popen(cmd, "r");
  SW_ASSERT(p != NULL);
  out[0] = '\0';
  if (fgets(out, (int)cap, p) == NULL) out[0] = '\0';
  out[strcspn(out, "\n")] = '\0';
  return pclose(p);
}

/* ------------------------------------------------------------ part 1 */

SW_TEST(make_torrent_is_hybrid_and_loadable) {
  char *d = tdir();
  char file[128], tor[128], cmd[512], line[256], msg[512] = "";
  snprintf(file, sizeof file, "%s/pkg-1.0.tar", d);
  snprintf(tor, sizeof tor, "%s/pkg.torrent", d);
  write_random(file, 3 * 1024 * 1024 + 12345, 1);
  const char *trackers[] = {"http://127.0.0.1:1/announce"};
  sw_swarm_make_opts o = {.file_path = file, .torrent_path = tor, .name = NULL,
                          .trackers = trackers, .n_trackers = 1, .piece_size = 0,
                          .creator = "swarmup-publish 0.1"};
  sw_swarm_made m;
  sw_err e = sw_swarm_make_torrent(&o, &m, msg, sizeof msg);
  if (e != SW_OK) SW_FAILF("make: %s: %s", sw_err_name(e), msg);
  SW_ASSERT_EQ_INT(strlen(m.btmh_hex), 64);
  SW_ASSERT_EQ_INT(strlen(m.btih_hex), 40);
  SW_ASSERT_EQ_INT(m.size, 3 * 1024 * 1024 + 12345);
  SW_ASSERT(m.piece_size >= 16384);
  SW_ASSERT_EQ_INT(m.num_pieces, (m.size + (uint64_t)m.piece_size - 1) / (uint64_t)m.piece_size);

  /* A plain libtorrent (the Python bindings) must see the same two hashes. */
  snprintf(cmd, sizeof cmd,
           LT_PY " -c 'import sys, libtorrent as lt; ti=lt.torrent_info(sys.argv[1]); "
           "h=ti.info_hashes(); print(h.has_v1(), h.has_v2(), h.v1, h.v2, ti.num_files(), "
           "ti.files().file_path(0), ti.total_size(), ti.creation_date(), len(list(ti.trackers())))' %s",
           tor);
  SW_ASSERT_EQ_INT(run_capture(cmd, line, sizeof line), 0);
  char want[256];
  snprintf(want, sizeof want, "True True %s %s 1 pkg-1.0.tar %llu 0 1", m.btih_hex, m.btmh_hex,
           (unsigned long long)m.size);
  SW_ASSERT_STREQ(line, want);

  /* Our own reader agrees. */
  size_t len = 0;
  uint8_t *buf = read_all(tor, &len);
  sw_swarm_made r;
  char name[SW_FILE_MAX + 1];
  e = sw_swarm_torrent_info(buf, len, &r, name, sizeof name, msg, sizeof msg);
  if (e != SW_OK) SW_FAILF("info: %s: %s", sw_err_name(e), msg);
  SW_ASSERT_STREQ(r.btmh_hex, m.btmh_hex);
  SW_ASSERT_STREQ(r.btih_hex, m.btih_hex);
  SW_ASSERT_STREQ(name, "pkg-1.0.tar");
  SW_ASSERT_EQ_INT(r.size, m.size);
  SW_ASSERT_EQ_INT(r.piece_size, m.piece_size);
  SW_ASSERT_EQ_INT(r.num_pieces, m.num_pieces);
  free(buf);
  rmtree(d);
}

SW_TEST(make_torrent_is_reproducible_and_uses_given_name) {
  char *d = tdir();
  char file[128], t1[128], t2[128], msg[512] = "";
  snprintf(file, sizeof file, "%s/build-output.bin", d);
  snprintf(t1, sizeof t1, "%s/a.torrent", d);
  snprintf(t2, sizeof t2, "%s/b.torrent", d);
  write_random(file, 1000000, 2);
  sw_swarm_make_opts o = {.file_path = file, .torrent_path = t1, .name = "app_2.0.deb",
                          .piece_size = 65536, .creator = "swarmup-publish 0.1"};
  sw_swarm_made m1, m2;
  SW_ASSERT_EQ_INT(sw_swarm_make_torrent(&o, &m1, msg, sizeof msg), SW_OK);
  o.torrent_path = t2;
  SW_ASSERT_EQ_INT(sw_swarm_make_torrent(&o, &m2, msg, sizeof msg), SW_OK);
  SW_ASSERT_STREQ(m1.btmh_hex, m2.btmh_hex);
  SW_ASSERT_EQ_INT(m1.piece_size, 65536);
  size_t l1, l2;
  uint8_t *b1 = read_all(t1, &l1), *b2 = read_all(t2, &l2);
  SW_ASSERT_EQ_INT(l1, l2);
  SW_ASSERT(memcmp(b1, b2, l1) == 0);
  SW_ASSERT(!contains(b1, l1, "creation date"));
  SW_ASSERT(!contains(b1, l1, "url-list"));
  SW_ASSERT(contains(b1, l1, "piece layers"));
  sw_swarm_made r;
  char name[SW_FILE_MAX + 1];
  SW_ASSERT_EQ_INT(sw_swarm_torrent_info(b1, l1, &r, name, sizeof name, msg, sizeof msg), SW_OK);
  SW_ASSERT_STREQ(name, "app_2.0.deb");
  /* A different name is a different torrent. */
  o.name = "app_2.1.deb";
  SW_ASSERT_EQ_INT(sw_swarm_make_torrent(&o, &m2, msg, sizeof msg), SW_OK);
  SW_ASSERT(strcmp(m1.btmh_hex, m2.btmh_hex) != 0);
  free(b1);
  free(b2);
  rmtree(d);
}

SW_TEST(make_torrent_rejects_bad_names_and_empty_files) {
  char *d = tdir();
  char file[128], tor[128], msg[512] = "";
  snprintf(file, sizeof file, "%s/f", d);
  snprintf(tor, sizeof tor, "%s/f.torrent", d);
  write_random(file, 100, 3);
  sw_swarm_made m;
  sw_swarm_make_opts o = {.file_path = file, .torrent_path = tor, .name = "../evil"};
  SW_ASSERT_EQ_INT(sw_swarm_make_torrent(&o, &m, msg, sizeof msg), SW_ERR_USAGE);
  o.name = NULL;
  o.piece_size = 20000;
  SW_ASSERT_EQ_INT(sw_swarm_make_torrent(&o, &m, msg, sizeof msg), SW_ERR_USAGE);
  o.piece_size = 0;
  o.file_path = d;
  SW_ASSERT_EQ_INT(sw_swarm_make_torrent(&o, &m, msg, sizeof msg), SW_ERR_USAGE);
  write_random(file, 0, 3);
  o.file_path = file;
  SW_ASSERT_EQ_INT(sw_swarm_make_torrent(&o, &m, msg, sizeof msg), SW_ERR_USAGE);
  SW_ASSERT(access(tor, F_OK) != 0);
  rmtree(d);
}

/* libtorrent 2.0.8 cannot fetch a v2 piece layer by magnet when the piece count
 * is 512k+1 (measured: 32 MiB + 777 bytes at 64 KiB pieces = 513 pieces). */
SW_TEST(make_torrent_avoids_piece_counts_libtorrent_cannot_fetch_by_magnet) {
  char *d = tdir();
  char file[128], tor[128], msg[512] = "";
  snprintf(file, sizeof file, "%s/f.bin", d);
  snprintf(tor, sizeof tor, "%s/f.torrent", d);
  write_random(file, 32 * 1024 * 1024 + 777, 4);
  sw_swarm_made m;
  sw_swarm_make_opts o = {.file_path = file, .torrent_path = tor, .piece_size = 65536};
  SW_ASSERT_EQ_INT(sw_swarm_make_torrent(&o, &m, msg, sizeof msg), SW_ERR_USAGE);
  SW_ASSERT_CONTAINS(msg, "513 pieces");
  o.piece_size = 0;
  sw_err e = sw_swarm_make_torrent(&o, &m, msg, sizeof msg);
  if (e != SW_OK) SW_FAILF("make: %s", msg);
  SW_ASSERT(m.num_pieces <= 512 || m.num_pieces % 512 != 1);
  rmtree(d);
}

SW_TEST(torrent_info_rejects_multi_file_and_garbage) {
  char *d = tdir();
  char tor[128], cmd[1024], line[64], msg[512] = "";
  snprintf(tor, sizeof tor, "%s/multi.torrent", d);
  /* Two files: a plain libtorrent makes it, our reader must refuse it. */
  snprintf(cmd, sizeof cmd,
           "cd %s && head -c 40000 /dev/zero > a && head -c 50000 /dev/zero > b && mkdir -p m && mv a b m/ && "
           LT_PY " -c 'import libtorrent as lt; fs=lt.file_storage(); lt.add_files(fs, \"m\"); "
           "ct=lt.create_torrent(fs); lt.set_piece_hashes(ct, \".\"); "
           "open(\"%s\",\"wb\").write(lt.bencode(ct.generate())); print(\"ok\")'",
           d, tor);
  SW_ASSERT_EQ_INT(run_capture(cmd, line, sizeof line), 0);
  SW_ASSERT_STREQ(line, "ok");
  size_t len;
  uint8_t *buf = read_all(tor, &len);
  sw_swarm_made r;
  char name[SW_FILE_MAX + 1];
  SW_ASSERT_EQ_INT(sw_swarm_torrent_info(buf, len, &r, name, sizeof name, msg, sizeof msg), SW_ERR_TORRENT_MISMATCH);
  SW_ASSERT_CONTAINS(msg, "rejected");
  /* Truncated bytes do not decode. */
  SW_ASSERT_EQ_INT(sw_swarm_torrent_info(buf, len / 2, &r, name, sizeof name, msg, sizeof msg), SW_ERR_SWARM);
  SW_ASSERT_EQ_INT(sw_swarm_torrent_info((const uint8_t *)"de", 2, &r, name, sizeof name, msg, sizeof msg),
                   SW_ERR_SWARM);
  free(buf);
  rmtree(d);
}

/* ------------------------------------------------------------ part 2 helpers */

#include <openssl/evp.h>
#include <sys/prctl.h>
#include <uv.h>

#define MIB (1024u * 1024u)

static void sha256_file(const char *path, char hex[65]) {
  FILE *f = fopen(path, "rb");
  SW_ASSERT(f != NULL);
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  SW_ASSERT(c != NULL);
  SW_ASSERT_EQ_INT(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
  static uint8_t buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) SW_ASSERT_EQ_INT(EVP_DigestUpdate(c, buf, n), 1);
  fclose(f);
  uint8_t md[32];
  unsigned mdlen = 0;
  SW_ASSERT_EQ_INT(EVP_DigestFinal_ex(c, md, &mdlen), 1);
  EVP_MD_CTX_free(c);
  for (unsigned i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static void unhex(const char *hex, uint8_t *out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned v = 0;
    SW_ASSERT_EQ_INT(sscanf(hex + 2 * i, "%2x", &v), 1);
    out[i] = (uint8_t)v;
  }
}

/* Start tests/lib/lt_seed.py; it dies with us (PDEATHSIG) if a test fails early. */
static pid_t spawn_py(char *const argv[]) {
  pid_t pid = fork();
  SW_ASSERT(pid >= 0);
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execv(argv[0], argv);
    _exit(127);
  }
  return pid;
}

/* A real python-libtorrent seeder of dir/<name> for torrent; returns its port. */
static pid_t start_seeder(const char *d, const char *torrent, const char *dir, int limit, int *port) {
  char pf[160], lim[32];
  snprintf(pf, sizeof pf, "%s/seeder.port", d);
  snprintf(lim, sizeof lim, "%d", limit);
  char *argv[] = {LT_PY, SW_TEST_SRCDIR "/lib/lt_seed.py", "seed", "--torrent", (char *)torrent,
                  "--dir", (char *)dir, "--port-file", pf, "--upload-limit", lim, NULL};
  pid_t pid = spawn_py(argv);
  for (int i = 0; i < 200; i++) { /* 20 s at most */
    FILE *f = fopen(pf, "r");
    if (f) {
      int ok = fscanf(f, "%d", port);
      fclose(f);
      if (ok == 1 && *port > 0) return pid;
    }
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) SW_FAILF("seeder exited early");
    usleep(100000);
  }
  kill(pid, SIGKILL);
  SW_FAILF("seeder did not write its port");
  return -1;
}

static void stop_child(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

/* A package + torrent + seeder in a fresh directory. */
typedef struct fixture {
  char d[64], seed_dir[128], dl_dir[128], file[160], torrent[160], resume[160];
  sw_swarm_made m;
  size_t size;
  pid_t seeder;
  int port;
} fixture;

static void fixture_make(fixture *fx, size_t size, int limit) {
  char msg[512] = "";
  snprintf(fx->d, sizeof fx->d, "%s", tdir());
  snprintf(fx->seed_dir, sizeof fx->seed_dir, "%s/seed", fx->d);
  snprintf(fx->dl_dir, sizeof fx->dl_dir, "%s/partial", fx->d);
  snprintf(fx->file, sizeof fx->file, "%s/pkg-2.0.bin", fx->seed_dir);
  snprintf(fx->torrent, sizeof fx->torrent, "%s/pkg.torrent", fx->d);
  snprintf(fx->resume, sizeof fx->resume, "%s/pkg.resume", fx->d);
  SW_ASSERT_EQ_INT(mkdir(fx->seed_dir, 0700), 0);
  SW_ASSERT_EQ_INT(mkdir(fx->dl_dir, 0700), 0);
  fx->size = size;
  write_random(fx->file, size, (unsigned)size);
  sw_swarm_make_opts o = {.file_path = fx->file, .torrent_path = fx->torrent, .piece_size = 0,
                          .creator = "test"};
  sw_err e = sw_swarm_make_torrent(&o, &fx->m, msg, sizeof msg);
  if (e != SW_OK) SW_FAILF("make: %s", msg);
  fx->seeder = limit >= 0 ? start_seeder(fx->d, fx->torrent, fx->seed_dir, limit, &fx->port) : -1;
}

static void test_settings(sw_swarm_settings *s) {
  sw_swarm_settings_init(s);
  s->listen_interfaces = "127.0.0.1:0";
  s->enable_dht = 0;
  s->enable_lsd = 0;
  s->enable_upnp = 0;
  s->enable_natpmp = 0;
  s->enable_utp = 0; /* loopback: TCP */
  s->stats_interval_ms = 200;
}

/* What the callbacks saw. */
typedef struct seen {
  uv_loop_t *loop;
  sw_swarm *s;
  sw_swarm_torrent *t;
  int metadata, finished, closed, peers_connected, pieces;
  sw_err err;
  char errmsg[512];
  sw_swarm_status last;
  int status_fd;          /* >= 0: write bytes_done to it on each status (child of the kill test) */
  int stop_on_error;
} seen;

static void cb_status(void *arg, sw_swarm_torrent *t, void *targ, const sw_swarm_status *st) {
  seen *z = arg;
  (void)t; (void)targ;
  z->last = *st;
  if (getenv("SW_TEST_VERBOSE"))
    fprintf(stderr, "  status: state %d meta %d done %llu peers %d down %d\n", st->state, st->has_metadata,
            (unsigned long long)st->bytes_done, st->num_peers, st->download_rate);
  if (z->status_fd >= 0) {
    uint64_t v = st->bytes_done;
    if (write(z->status_fd, &v, sizeof v) != (ssize_t)sizeof v) _exit(3);
  }
}
static void cb_metadata(void *arg, sw_swarm_torrent *t, void *targ) {
  seen *z = arg;
  (void)t; (void)targ;
  z->metadata++;
}
static void cb_peer(void *arg, sw_swarm_torrent *t, void *targ, int connected, const char *ep, const char *why) {
  seen *z = arg;
  (void)t; (void)targ;
  if (getenv("SW_TEST_VERBOSE")) fprintf(stderr, "  peer %s %d %s\n", ep, connected, why);
  if (connected) z->peers_connected++;
}
static void cb_piece(void *arg, sw_swarm_torrent *t, void *targ, int piece) {
  seen *z = arg;
  (void)t; (void)targ; (void)piece;
  z->pieces++;
}
static void cb_finished(void *arg, sw_swarm_torrent *t, void *targ) {
  seen *z = arg;
  char msg[256];
  (void)targ;
  z->finished++;
  SW_ASSERT_EQ_INT(sw_swarm_get_status(t, &z->last, msg, sizeof msg), SW_OK);
  sw_swarm_free(z->s);
}
static void cb_error(void *arg, sw_swarm_torrent *t, void *targ, sw_err err, const char *msg) {
  seen *z = arg;
  (void)targ;
  if (t == NULL) return; /* session-level notes are not what these tests wait for */
  z->err = err;
  snprintf(z->errmsg, sizeof z->errmsg, "%s", msg);
  char m[256];
  SW_ASSERT_EQ_INT(sw_swarm_get_status(t, &z->last, m, sizeof m), SW_OK);
  if (z->stop_on_error) sw_swarm_free(z->s);
}
static void cb_closed(void *arg) {
  seen *z = arg;
  z->closed++;
}

static void guard_cb(uv_timer_t *h) {
  (void)h;
  SW_FAILF("timed out waiting for the swarm");
}

static void open_session(seen *z, uv_loop_t *loop, const sw_swarm_settings *set) {
  char msg[512] = "";
  memset(z, 0, sizeof *z);
  z->loop = loop;
  z->status_fd = -1;
  z->stop_on_error = 1;
  sw_swarm_callbacks cb = {.arg = z, .on_status = cb_status, .on_metadata = cb_metadata, .on_peer = cb_peer,
                           .on_piece = cb_piece, .on_finished = cb_finished, .on_error = cb_error,
                           .on_closed = cb_closed};
  sw_err e = sw_swarm_new(loop, set, &cb, &z->s, msg, sizeof msg);
  if (e != SW_OK) SW_FAILF("sw_swarm_new: %s", msg);
}

/* Run the loop until the session closed (a guard timer fails the test after secs). */
static void run_until_closed(uv_loop_t *loop, seen *z, unsigned secs) {
  uv_timer_t guard;
  uv_timer_init(loop, &guard);
  uv_timer_start(&guard, guard_cb, secs * 1000u, 0);
  uv_unref((uv_handle_t *)&guard);
  while (!z->closed) uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&guard, NULL);
  uv_run(loop, UV_RUN_DEFAULT);
}

static void add_magnet(seen *z, fixture *fx, const char *name, uint64_t size, const char *resume) {
  char msg[512] = "", peer[64];
  uint8_t btmh[32], btih[20];
  unhex(fx->m.btmh_hex, btmh, 32);
  unhex(fx->m.btih_hex, btih, 20);
  snprintf(peer, sizeof peer, "127.0.0.1:%d", fx->port);
  const char *peers[] = {peer};
  sw_swarm_download dl = {.btmh = btmh, .btih = btih, .expected_name = name, .expected_size = size,
                          .peers = peers, .n_peers = 1, .save_dir = fx->dl_dir, .resume_path = resume};
  sw_err e = sw_swarm_add_download(z->s, &dl, &z->t, msg, sizeof msg);
  if (e != SW_OK) SW_FAILF("add_download: %s: %s", sw_err_name(e), msg);
}

/* ------------------------------------------------------------ part 2 tests */

SW_TEST(downloads_from_local_seeder_via_magnet_x_pe) {
  fixture fx;
  fixture_make(&fx, 32 * MIB + 777, 0);
  uv_loop_t loop;
  uv_loop_init(&loop);
  sw_swarm_settings set;
  test_settings(&set);
  seen z;
  open_session(&z, &loop, &set);
  add_magnet(&z, &fx, "pkg-2.0.bin", fx.size, NULL);
  run_until_closed(&loop, &z, 60);
  stop_child(fx.seeder);
  if (z.err != SW_OK) SW_FAILF("error: %s: %s", sw_err_name(z.err), z.errmsg);
  SW_ASSERT_EQ_INT(z.finished, 1);
  SW_ASSERT_EQ_INT(z.metadata, 1);
  SW_ASSERT(z.peers_connected >= 1);
  SW_ASSERT_EQ_INT(z.pieces, fx.m.num_pieces);
  SW_ASSERT_EQ_INT(z.last.bytes_done, fx.size);
  SW_ASSERT_EQ_INT(z.last.state, SW_SWARM_SEEDING);
  char want[65], got[65], path[200];
  snprintf(path, sizeof path, "%s/pkg-2.0.bin", fx.dl_dir);
  sha256_file(fx.file, want);
  sha256_file(path, got);
  SW_ASSERT_STREQ(got, want);
  SW_ASSERT_EQ_INT(uv_loop_close(&loop), 0); /* every handle closed */
  rmtree(fx.d);
}

static void expect_mismatch(const char *name, uint64_t size, const char *why) {
  fixture fx;
  fixture_make(&fx, 2 * MIB, 0);
  uv_loop_t loop;
  uv_loop_init(&loop);
  sw_swarm_settings set;
  test_settings(&set);
  seen z;
  open_session(&z, &loop, &set);
  add_magnet(&z, &fx, name, size, NULL);
  run_until_closed(&loop, &z, 60);
  stop_child(fx.seeder);
  SW_ASSERT_EQ_INT(z.err, SW_ERR_TORRENT_MISMATCH);
  SW_ASSERT_CONTAINS(z.errmsg, why);
  SW_ASSERT_EQ_INT(z.finished, 0);
  SW_ASSERT_EQ_INT(z.metadata, 0);
  SW_ASSERT_EQ_INT(z.last.state, SW_SWARM_FAILED);
  SW_ASSERT_EQ_INT(uv_loop_close(&loop), 0); /* every handle closed */
  rmtree(fx.d);
}

SW_TEST(metadata_with_wrong_file_name_aborts) {
  expect_mismatch("pkg-2.1.bin", 2 * MIB, "file name differs");
}

SW_TEST(metadata_with_wrong_size_aborts) {
  expect_mismatch("pkg-2.0.bin", 2 * MIB + 1, "size");
}

/* Seeding: wait for our port, then run a plain libtorrent downloader against it. */
typedef struct seed_run {
  seen *z;
  fixture *fx;
  char get_dir[160];
  pid_t getter;
  int exit_code;
  int after_exit; /* polls since the getter exited */
  uint64_t uploaded; /* the largest upload total the poll read (on_status may
                        later store an older state_update's figures in z->last) */
  uv_timer_t poll;
} seed_run;

static void seed_poll(uv_timer_t *h) {
  seed_run *r = h->data;
  if (r->getter <= 0) {
    int port = sw_swarm_listen_port(r->z->s);
    if (port <= 0) return;
    char peer[64], limit[8] = "90";
    snprintf(peer, sizeof peer, "127.0.0.1:%d", port);
    char *argv[] = {LT_PY, SW_TEST_SRCDIR "/lib/lt_seed.py", "get", "--torrent", r->fx->torrent,
                    "--dir", r->get_dir, "--peer", peer, "--timeout", limit, NULL};
    r->getter = spawn_py(argv);
    return;
  }
  int st = 0;
  char msg[256];
  if (r->exit_code < 0) {
    if (waitpid(r->getter, &st, WNOHANG) != r->getter) return;
    r->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
  }
  /* libtorrent adds a torrent's transfer to its upload total on its
   * once-a-second tick: the last bytes the getter took may show a tick after
   * it exited (seen under ASan on a loaded machine). Wait for them, bounded. */
  SW_ASSERT_EQ_INT(sw_swarm_get_status(r->z->t, &r->z->last, msg, sizeof msg), SW_OK);
  if (r->z->last.total_payload_upload > r->uploaded) r->uploaded = r->z->last.total_payload_upload;
  if (r->exit_code == 0 && r->uploaded < r->fx->size && ++r->after_exit < 200) return;
  uv_close((uv_handle_t *)&r->poll, NULL);
  sw_swarm_free(r->z->s);
}

SW_TEST(seeds_to_a_plain_libtorrent_peer) {
  fixture fx;
  fixture_make(&fx, 24 * MIB + 5, -1); /* no python seeder: we seed */
  uv_loop_t loop;
  uv_loop_init(&loop);
  sw_swarm_settings set;
  test_settings(&set);
  seen z;
  open_session(&z, &loop, &set);
  char msg[512] = "";
  size_t tlen;
  uint8_t *tbuf = read_all(fx.torrent, &tlen);
  sw_swarm_seed sd = {.torrent = tbuf, .torrent_len = tlen, .save_dir = fx.seed_dir};
  sw_err e = sw_swarm_add_seed(z.s, &sd, &z.t, msg, sizeof msg);
  if (e != SW_OK) SW_FAILF("add_seed: %s: %s", sw_err_name(e), msg);
  free(tbuf);
  seed_run r = {.z = &z, .fx = &fx, .getter = 0, .exit_code = -1};
  snprintf(r.get_dir, sizeof r.get_dir, "%s/getter", fx.d);
  SW_ASSERT_EQ_INT(mkdir(r.get_dir, 0700), 0);
  uv_timer_init(&loop, &r.poll);
  r.poll.data = &r;
  uv_timer_start(&r.poll, seed_poll, 50, 50);
  run_until_closed(&loop, &z, 100);
  if (z.err != SW_OK) SW_FAILF("error: %s: %s", sw_err_name(z.err), z.errmsg);
  SW_ASSERT_EQ_INT(r.exit_code, 0);
  SW_ASSERT(r.uploaded >= fx.size);
  SW_ASSERT_EQ_INT(z.last.state, SW_SWARM_SEEDING);
  char want[65], got[65], path[200];
  snprintf(path, sizeof path, "%s/pkg-2.0.bin", r.get_dir);
  sha256_file(fx.file, want);
  sha256_file(path, got);
  SW_ASSERT_STREQ(got, want);
  SW_ASSERT_EQ_INT(uv_loop_close(&loop), 0); /* every handle closed */
  rmtree(fx.d);
}

SW_TEST(resume_after_kill_continues) {
  fixture fx;
  /* 32 MiB at 4 MiB/s from the seeder: about 8 s, time to stop half-way. */
  fixture_make(&fx, 32 * MIB, 4 * MIB);
  int pfd[2];
  SW_ASSERT_EQ_INT(pipe(pfd), 0);
  pid_t child = fork();
  SW_ASSERT(child >= 0);
  if (child == 0) {
    close(pfd[0]);
    uv_loop_t loop;
    uv_loop_init(&loop);
    sw_swarm_settings set;
    test_settings(&set);
    set.resume_interval_s = 1;
    seen z;
    open_session(&z, &loop, &set);
    z.status_fd = pfd[1];
    add_magnet(&z, &fx, "pkg-2.0.bin", fx.size, fx.resume);
    run_until_closed(&loop, &z, 100);
    _exit(4); /* should have been killed before finishing */
  }
  close(pfd[1]);
  uint64_t done = 0, v;
  while (done < fx.size * 45 / 100) {
    ssize_t n = read(pfd[0], &v, sizeof v);
    if (n != (ssize_t)sizeof v) {
      stop_child(child);
      stop_child(fx.seeder);
      SW_FAILF("downloader child stopped early at %llu bytes", (unsigned long long)done);
    }
    done = v;
  }
  usleep(1300 * 1000); /* at least one resume save (every 1 s) after the 45% mark */
  stop_child(child);   /* SIGKILL: no clean shutdown, no final resume save */
  close(pfd[0]);
  /* The child's periodic resume data (read by a plain libtorrent) holds the
   * metadata and part of the pieces. */
  char cmd[512], line[128];
  snprintf(cmd, sizeof cmd,
           LT_PY " -c 'import sys, libtorrent as lt; p=lt.read_resume_data(open(sys.argv[1],\"rb\").read()); "
           "print(p.ti is not None, sum(1 for x in p.have_pieces if x), p.info_hashes.v2)' %s",
           fx.resume);
  SW_ASSERT_EQ_INT(run_capture(cmd, line, sizeof line), 0);
  int has_ti = strncmp(line, "True ", 5) == 0;
  long have = has_ti ? strtol(line + 5, NULL, 10) : 0;
  SW_ASSERT(has_ti);
  SW_ASSERT(have > 0 && have < fx.m.num_pieces);
  SW_ASSERT_CONTAINS(line, fx.m.btmh_hex);

  uv_loop_t loop;
  uv_loop_init(&loop);
  sw_swarm_settings set;
  test_settings(&set);
  seen z;
  open_session(&z, &loop, &set);
  add_magnet(&z, &fx, "pkg-2.0.bin", fx.size, fx.resume);
  run_until_closed(&loop, &z, 100);
  stop_child(fx.seeder);
  if (z.err != SW_OK) SW_FAILF("error: %s: %s", sw_err_name(z.err), z.errmsg);
  SW_ASSERT_EQ_INT(z.finished, 1);
  fprintf(stderr, "  resume: killed at >= %llu bytes, downloaded again %llu of %zu\n",
          (unsigned long long)done, (unsigned long long)z.last.total_payload_download, fx.size);
  SW_ASSERT(z.last.total_payload_download < (uint64_t)fx.size * 70 / 100);
  char want[65], got[65], path[200];
  snprintf(path, sizeof path, "%s/pkg-2.0.bin", fx.dl_dir);
  sha256_file(fx.file, want);
  sha256_file(path, got);
  SW_ASSERT_STREQ(got, want);
  SW_ASSERT_EQ_INT(uv_loop_close(&loop), 0); /* every handle closed */
  rmtree(fx.d);
}

/* ------------------------------------------------------------ HTTPS beside the swarm (issue 12) */

/* The steps of held_pieces_*: metadata from the given .torrent, every piece
 * held for HTTPS (lowest priority), a second with nothing finishing, then every
 * piece handed over as HTTPS would. */
typedef struct held {
  seen *z;
  fixture *fx;
  uv_timer_t tick;
  int step, ticks, queued_any, finished_while_held;
} held;

static void held_tick(uv_timer_t *h) {
  held *hd = h->data;
  char msg[256] = "";
  int plen = 0, n = 0;
  if (hd->z->closed || hd->z->finished) {
    uv_timer_stop(h);
    return;
  }
  if (hd->step == 0) {
    if (!hd->z->metadata) return;
    SW_ASSERT_EQ_INT(sw_swarm_layout(hd->z->t, &plen, &n, msg, sizeof msg), SW_OK);
    SW_ASSERT_EQ_INT(sw_swarm_piece_priority(hd->z->t, 0, n - 1, 0, msg, sizeof msg), SW_OK);
    SW_ASSERT_EQ_INT(sw_swarm_piece_priority(hd->z->t, 0, n, 0, msg, sizeof msg), SW_ERR_USAGE);
    hd->step = 1;
    return;
  }
  if (hd->step == 1) {
    uint8_t q[64] = {0};
    SW_ASSERT_EQ_INT(sw_swarm_queued_pieces(hd->z->t, q, sizeof q, msg, sizeof msg), SW_OK);
    for (size_t i = 0; i < sizeof q; i++) hd->queued_any |= q[i];
    if (++hd->ticks < 10) return; /* a second with every piece held */
    hd->finished_while_held = hd->z->finished;
    SW_ASSERT_EQ_INT(sw_swarm_layout(hd->z->t, &plen, &n, msg, sizeof msg), SW_OK);
    size_t len = 0;
    uint8_t *data = read_all(hd->fx->file, &len);
    SW_ASSERT_EQ_INT(len, hd->fx->size);
    for (int i = 0; i < n; i++) {
      size_t off = (size_t)i * (size_t)plen, sz = len - off < (size_t)plen ? len - off : (size_t)plen;
      SW_ASSERT_EQ_INT(sw_swarm_add_piece(hd->z->t, i, data + off, sz, msg, sizeof msg), SW_OK);
    }
    free(data);
    hd->step = 2;
    uv_timer_stop(h);
  }
}

SW_TEST(pieces_held_for_https_do_not_finish_the_torrent_and_a_given_torrent_needs_no_peer) {
  fixture fx;
  fixture_make(&fx, 4 * MIB + 333, -1); /* no seeder: nobody could give the metadata */
  uv_loop_t loop;
  uv_loop_init(&loop);
  sw_swarm_settings set;
  test_settings(&set);
  seen z;
  open_session(&z, &loop, &set);
  char msg[512] = "";
  uint8_t btmh[32], btih[20];
  size_t tlen = 0;
  uint8_t *tbuf = read_all(fx.torrent, &tlen);
  unhex(fx.m.btmh_hex, btmh, 32);
  unhex(fx.m.btih_hex, btih, 20);
  sw_swarm_download dl = {.btmh = btmh, .btih = btih, .expected_name = "pkg-2.0.bin", .expected_size = fx.size,
                          .save_dir = fx.dl_dir, .torrent = tbuf, .torrent_len = tlen};
  sw_err e = sw_swarm_add_download(z.s, &dl, &z.t, msg, sizeof msg);
  if (e != SW_OK) SW_FAILF("add_download: %s: %s", sw_err_name(e), msg);
  /* Another torrent's bytes are refused. */
  btmh[0] ^= 1;
  sw_swarm_torrent *t2 = NULL;
  SW_ASSERT_EQ_INT(sw_swarm_add_download(z.s, &dl, &t2, msg, sizeof msg), SW_ERR_TORRENT_MISMATCH);
  held hd = {.z = &z, .fx = &fx};
  uv_timer_init(&loop, &hd.tick);
  hd.tick.data = &hd;
  uv_timer_start(&hd.tick, held_tick, 100, 100);
  run_until_closed(&loop, &z, 60);
  uv_close((uv_handle_t *)&hd.tick, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  free(tbuf);
  if (z.err != SW_OK) SW_FAILF("error: %s: %s", sw_err_name(z.err), z.errmsg);
  SW_ASSERT_EQ_INT(z.metadata, 1);
  SW_ASSERT_EQ_INT(hd.step, 2);
  SW_ASSERT_EQ_INT(hd.finished_while_held, 0);
  SW_ASSERT_EQ_INT(hd.queued_any, 0);
  SW_ASSERT_EQ_INT(z.finished, 1);
  SW_ASSERT_EQ_INT(z.last.bytes_done, fx.size);
  char want[65], got[65], path[200];
  snprintf(path, sizeof path, "%s/pkg-2.0.bin", fx.dl_dir);
  sha256_file(fx.file, want);
  sha256_file(path, got);
  SW_ASSERT_STREQ(got, want);
  SW_ASSERT_EQ_INT(uv_loop_close(&loop), 0);
  rmtree(fx.d);
}
