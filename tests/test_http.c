/* test_http.c - fallback/http.c against a real nginx (tests/lib/nginx.sh) on 127.0.0.1.
 *
 * One nginx for the whole binary, started before main() and stopped by PID at
 * exit (and by nginx.sh's owner watchdog if this process is killed). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <uv.h>

#include "http.h"
#include "sw_limits.h"
#include "sw_test.h"

#define BIG_LEN (5u * 1024u * 1024u)
#define PAR_LEN (40u * 1024u)

static char g_dir[64];
static char g_ca[128];
static int g_port, g_hport;
static pid_t g_parent;
static int g_ready;
static uint8_t *g_big, *g_par;
static const char g_small[] = "hello from nginx\n";

static int write_file(const char *path, const void *buf, size_t len) {
  FILE *f = fopen(path, "wb");
  if (f == NULL) return -1;
  size_t n = fwrite(buf, 1, len, f);
  return (fclose(f) == 0 && n == len) ? 0 : -1;
}

static int read_int_file(const char *path) {
  char buf[32] = {0};
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  return (int)strtol(buf, NULL, 10);
}

static void nginx_stop(void) {
  char cmd[256];
  if (getpid() != g_parent || g_dir[0] == '\0') return;
  snprintf(cmd, sizeof cmd, "bash '%s/lib/nginx.sh' stop '%s'; rm -rf '%s'", SW_TEST_SRCDIR, g_dir, g_dir);
  if (system(cmd) != 0) fprintf(stderr, "test_http: nginx stop failed\n");
}

static uint8_t *random_bytes(size_t n) {
  uint8_t *b = malloc(n);
  FILE *f = fopen("/dev/urandom", "rb");
  if (b == NULL || f == NULL || fread(b, 1, n, f) != n) {
    if (f) fclose(f);
    free(b);
    return NULL;
  }
  fclose(f);
  return b;
}

__attribute__((constructor)) static void nginx_start(void) {
  char path[256], cmd[512], own[32];
  g_parent = getpid();
  /* Loopback must never go through a proxy from the environment. */
  setenv("no_proxy", "127.0.0.1,localhost", 1);
  setenv("NO_PROXY", "127.0.0.1,localhost", 1);
  snprintf(g_dir, sizeof g_dir, "/tmp/swh.XXXXXX");
  if (mkdtemp(g_dir) == NULL) { g_dir[0] = '\0'; return; }
  atexit(nginx_stop);
  snprintf(path, sizeof path, "%s/www", g_dir);
  if (mkdir(path, 0755) != 0) return;
  g_big = random_bytes(BIG_LEN);
  g_par = random_bytes(PAR_LEN);
  if (g_big == NULL || g_par == NULL) return;
  snprintf(path, sizeof path, "%s/www/big.bin", g_dir);
  if (write_file(path, g_big, BIG_LEN) != 0) return;
  snprintf(path, sizeof path, "%s/www/par.bin", g_dir);
  if (write_file(path, g_par, PAR_LEN) != 0) return;
  snprintf(path, sizeof path, "%s/www/small.txt", g_dir);
  if (write_file(path, g_small, strlen(g_small)) != 0) return;
  snprintf(own, sizeof own, "%d", (int)g_parent);
  setenv("SW_NGINX_OWNER", own, 1);
  snprintf(cmd, sizeof cmd, "bash '%s/lib/nginx.sh' start '%s' 0", SW_TEST_SRCDIR, g_dir);
  if (system(cmd) != 0) return;
  unsetenv("SW_NGINX_OWNER");
  snprintf(path, sizeof path, "%s/port", g_dir);
  g_port = read_int_file(path);
  snprintf(path, sizeof path, "%s/http_port", g_dir);
  g_hport = read_int_file(path);
  snprintf(g_ca, sizeof g_ca, "%s/ca.pem", g_dir);
  g_ready = g_port > 0 && g_hport > 0;
}

static const char *url(const char *path) {
  static char buf[4][256];
  static int i;
  char *b = buf[i++ % 4];
  snprintf(b, 256, "https://127.0.0.1:%d%s", g_port, path);
  return b;
}

/* ------------------------------------------------------------ collector */

typedef struct coll {
  uint8_t *buf;
  size_t len, cap;
  uint64_t first_off, next_off;
  int offsets_ok;
  int data_calls, done_calls;
  sw_err err;
  char msg[SW_MSG_MAX];
  long status;
  uint64_t t_start, t_done;
  sw_http_req *req;
  int cancel_on_data;   /* sw_http_cancel(req) in the first on_data */
  int stop_on_data;     /* return nonzero from the first on_data */
  struct coll *other;   /* parallel test: was the other one running? */
  int other_done_at_first_data;
} coll;

static void coll_init(coll *c) {
  memset(c, 0, sizeof *c);
  c->offsets_ok = 1;
  c->err = SW_ERR__COUNT;
  c->t_start = uv_hrtime();
}

static int on_data(void *arg, uint64_t offset, const uint8_t *buf, size_t len) {
  coll *c = arg;
  if (c->data_calls == 0) {
    c->first_off = offset;
    if (c->other) c->other_done_at_first_data = c->other->done_calls;
  } else if (offset != c->next_off) {
    c->offsets_ok = 0;
  }
  c->next_off = offset + len;
  c->data_calls++;
  if (c->len + len > c->cap) {
    size_t ncap = c->cap ? c->cap : 65536;
    while (ncap < c->len + len) ncap *= 2;
    c->buf = realloc(c->buf, ncap);
    SW_ASSERT(c->buf != NULL);
    c->cap = ncap;
  }
  memcpy(c->buf + c->len, buf, len);
  c->len += len;
  if (c->cancel_on_data) sw_http_cancel(c->req);
  return c->stop_on_data;
}

static void on_done(void *arg, sw_err err, const char *msg, long status) {
  coll *c = arg;
  c->done_calls++;
  c->err = err;
  c->status = status;
  snprintf(c->msg, sizeof c->msg, "%s", msg);
  c->t_done = uv_hrtime();
  if (getenv("SW_TEST_VERBOSE")) fprintf(stderr, "  done: %s %ld \"%s\"\n", sw_err_name(err), status, msg);
}

static sw_http_opts opts_ca(void) {
  sw_http_opts o;
  memset(&o, 0, sizeof o);
  o.ca_file = g_ca;
  return o;
}

static sw_http_get get_for(coll *c, const char *u, uint64_t max) {
  sw_http_get g;
  memset(&g, 0, sizeof g);
  g.url = u;
  g.max_bytes = max;
  g.on_data = on_data;
  g.on_done = on_done;
  g.arg = c;
  return g;
}

/* Run loop until every collector is done, free the client, then require that
 * the loop closes cleanly (no handle left behind). */
static void run_until_done(uv_loop_t *loop, sw_http *h, coll **cs, int n) {
  for (;;) {
    int all = 1, alive;
    for (int i = 0; i < n; i++) all &= cs[i]->done_calls > 0;
    if (all) break;
    alive = uv_run(loop, UV_RUN_ONCE);
    all = 1;
    for (int i = 0; i < n; i++) all &= cs[i]->done_calls > 0;
    if (!alive && !all) SW_FAILF("loop ran dry before every transfer was done");
  }
  sw_http_free(h);
  uv_run(loop, UV_RUN_DEFAULT);
  SW_ASSERT_EQ_INT(uv_loop_close(loop), 0);
  for (int i = 0; i < n; i++) SW_ASSERT_EQ_INT(cs[i]->done_calls, 1);
}

/* One GET with the given options; c gets the outcome. */
static void fetch_one(const sw_http_opts *o, coll *c, const sw_http_get *g) {
  uv_loop_t loop;
  sw_http *h = NULL;
  char msg[SW_MSG_MAX] = "";
  SW_ASSERT(g_ready);
  SW_ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  SW_ASSERT_EQ_INT(sw_http_new(&h, &loop, o, msg, sizeof msg), SW_OK);
  sw_err e = sw_http_start(h, g, &c->req, msg, sizeof msg);
  if (e != SW_OK) SW_FAILF("start: %s: %s", sw_err_name(e), msg);
  SW_ASSERT_EQ_INT(c->done_calls, 0); /* never from inside sw_http_start */
  coll *cs[1] = {c};
  run_until_done(&loop, h, cs, 1);
}

/* Lines of nginx's access log for listener port. */
static int access_lines_for_port(int port) {
  char path[256], line[1024], pfx[16];
  int n = 0;
  snprintf(path, sizeof path, "%s/access.log", g_dir);
  snprintf(pfx, sizeof pfx, "%d ", port);
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0;
  while (fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, pfx, strlen(pfx)) == 0) n++;
  fclose(f);
  return n;
}

/* The $connection serial (tests/lib/nginx.sh's log: the third field from the
 * end) of the last request "GET path"; -1 if none is logged within 2 s (nginx
 * logs a request once it has sent it, which may be after the client has it). */
static long conn_of(const char *path) {
  char file[256], line[1024], want[300];
  long conn = -1;
  snprintf(file, sizeof file, "%s/access.log", g_dir);
  snprintf(want, sizeof want, "\"GET %s HTTP/", path);
  for (int tries = 0; tries < 200 && conn < 0; tries++) {
    FILE *f = fopen(file, "r");
    if (tries > 0) usleep(10000);
    if (f == NULL) continue;
    while (fgets(line, sizeof line, f) != NULL) {
      char *fld[3] = {NULL, NULL, NULL}, *save = NULL;
      if (strstr(line, want) == NULL) continue;
      for (char *t = strtok_r(line, " \n", &save); t != NULL; t = strtok_r(NULL, " \n", &save)) {
        fld[0] = fld[1];
        fld[1] = fld[2];
        fld[2] = t;
      }
      if (fld[0] != NULL) conn = strtol(fld[0], NULL, 10);
    }
    fclose(f);
  }
  return conn;
}

/* ---------------------------------------------------------------- tests */

SW_TEST(fetches_whole_body_over_https) {
  coll c;
  sw_http_opts o = opts_ca();
  coll_init(&c);
  sw_http_get g = get_for(&c, url("/big.bin"), BIG_LEN);
  fetch_one(&o, &c, &g);
  if (c.err != SW_OK) SW_FAILF("%s: %s", sw_err_name(c.err), c.msg);
  SW_ASSERT_EQ_INT(c.status, 200);
  SW_ASSERT_STREQ(c.msg, "");
  SW_ASSERT_EQ_INT(c.first_off, 0);
  SW_ASSERT(c.offsets_ok);
  SW_ASSERT_EQ_INT(c.len, BIG_LEN);
  SW_ASSERT(memcmp(c.buf, g_big, BIG_LEN) == 0);
  free(c.buf);
}

SW_TEST(fetch_mem_returns_body) {
  uv_loop_t loop;
  uint8_t *body = NULL;
  size_t len = 0;
  char msg[SW_MSG_MAX] = "";
  sw_http_opts o = opts_ca();
  SW_ASSERT(g_ready);
  SW_ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  sw_err e = sw_http_fetch_mem(&loop, &o, url("/small.txt"), 4096, &body, &len, msg, sizeof msg);
  if (e != SW_OK) SW_FAILF("%s: %s", sw_err_name(e), msg);
  SW_ASSERT_EQ_INT(len, strlen(g_small));
  SW_ASSERT(memcmp(body, g_small, len) == 0);
  free(body);
  SW_ASSERT_EQ_INT(uv_loop_close(&loop), 0);
}

SW_TEST(fetch_mem_respects_size_cap) {
  uv_loop_t loop;
  uint8_t *body = (uint8_t *)"sentinel";
  size_t len = 123;
  char msg[SW_MSG_MAX] = "";
  sw_http_opts o = opts_ca();
  SW_ASSERT(g_ready);
  SW_ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  /* Declared length over the cap. */
  sw_err e = sw_http_fetch_mem(&loop, &o, url("/big.bin"), 1024 * 1024, &body, &len, msg, sizeof msg);
  SW_ASSERT_EQ_INT(e, SW_ERR_HTTP_TOO_BIG);
  SW_ASSERT(body == NULL);
  SW_ASSERT_EQ_INT(len, 0);
  SW_ASSERT_CONTAINS(msg, "larger than 1048576");
  /* No Content-Length: only our own counter can stop it. */
  e = sw_http_fetch_mem(&loop, &o, url("/nolength/big.bin"), 1024 * 1024, &body, &len, msg, sizeof msg);
  SW_ASSERT_EQ_INT(e, SW_ERR_HTTP_TOO_BIG);
  SW_ASSERT(body == NULL);
  SW_ASSERT_EQ_INT(uv_loop_close(&loop), 0);
}

SW_TEST(fetch_mem_on_reuses_the_clients_connection) {
  uv_loop_t loop;
  sw_http *h = NULL;
  uint8_t *body = NULL;
  size_t len = 0;
  char msg[SW_MSG_MAX] = "";
  sw_http_opts o = opts_ca();
  coll c;
  SW_ASSERT(g_ready);
  SW_ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  SW_ASSERT_EQ_INT(sw_http_new(&h, &loop, &o, msg, sizeof msg), SW_OK);
  /* Two one-shot fetches in a row on one client... */
  sw_err e = sw_http_fetch_mem_on(h, url("/small.txt?reuse=1"), 4096, &body, &len, msg, sizeof msg);
  if (e != SW_OK) SW_FAILF("first: %s: %s", sw_err_name(e), msg);
  SW_ASSERT_EQ_INT(len, strlen(g_small));
  SW_ASSERT(memcmp(body, g_small, len) == 0);
  free(body);
  body = NULL;
  e = sw_http_fetch_mem_on(h, url("/par.bin?reuse=2"), PAR_LEN, &body, &len, msg, sizeof msg);
  if (e != SW_OK) SW_FAILF("second: %s: %s", sw_err_name(e), msg);
  SW_ASSERT_EQ_INT(len, PAR_LEN);
  SW_ASSERT(memcmp(body, g_par, len) == 0);
  free(body);
  body = NULL;
  /* ... a streamed range request afterwards ... */
  coll_init(&c);
  sw_http_get g = get_for(&c, url("/big.bin?reuse=3"), BIG_LEN);
  g.range_start = 4096;
  g.range_len = 8192;
  SW_ASSERT_EQ_INT(sw_http_start(h, &g, &c.req, msg, sizeof msg), SW_OK);
  while (c.done_calls == 0)
    if (uv_run(&loop, UV_RUN_ONCE) == 0 && c.done_calls == 0) SW_FAILF("loop ran dry");
  if (c.err != SW_OK) SW_FAILF("range: %s: %s", sw_err_name(c.err), c.msg);
  SW_ASSERT_EQ_INT(c.len, 8192);
  SW_ASSERT(memcmp(c.buf, g_big + 4096, 8192) == 0);
  free(c.buf);
  /* ... and an error (last: the error page is not read, which closes the
   * connection): all on one connection. */
  e = sw_http_fetch_mem_on(h, url("/no-such-file?reuse=4"), 4096, &body, &len, msg, sizeof msg);
  SW_ASSERT_EQ_INT(e, SW_ERR_HTTP);
  SW_ASSERT_CONTAINS(msg, "HTTP 404");
  SW_ASSERT(body == NULL);
  SW_ASSERT_EQ_INT(len, 0);
  run_until_done(&loop, h, NULL, 0); /* frees h, closes the loop */
  long c1 = conn_of("/small.txt?reuse=1"), c2 = conn_of("/par.bin?reuse=2");
  long c3 = conn_of("/big.bin?reuse=3"), c4 = conn_of("/no-such-file?reuse=4");
  SW_ASSERT(c1 > 0);
  SW_ASSERT_EQ_INT(c2, c1);
  SW_ASSERT_EQ_INT(c3, c1);
  SW_ASSERT_EQ_INT(c4, c1);
}

SW_TEST(fetch_mem_on_leaves_other_transfers_running) {
  uv_loop_t loop;
  sw_http *h = NULL;
  uint8_t *body = NULL;
  size_t len = 0;
  char msg[SW_MSG_MAX] = "";
  sw_http_opts o = opts_ca();
  coll c;
  SW_ASSERT(g_ready);
  SW_ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  SW_ASSERT_EQ_INT(sw_http_new(&h, &loop, &o, msg, sizeof msg), SW_OK);
  coll_init(&c);
  /* limit_rate 20k: about 2 s, still running when the one-shot fetch is done. */
  sw_http_get g = get_for(&c, url("/slow/par.bin"), PAR_LEN);
  SW_ASSERT_EQ_INT(sw_http_start(h, &g, &c.req, msg, sizeof msg), SW_OK);
  sw_err e = sw_http_fetch_mem_on(h, url("/small.txt"), 4096, &body, &len, msg, sizeof msg);
  if (e != SW_OK) SW_FAILF("%s: %s", sw_err_name(e), msg);
  SW_ASSERT_EQ_INT(len, strlen(g_small));
  free(body);
  SW_ASSERT_EQ_INT(c.done_calls, 0);
  coll *cs[1] = {&c};
  run_until_done(&loop, h, cs, 1);
  if (c.err != SW_OK) SW_FAILF("slow: %s: %s", sw_err_name(c.err), c.msg);
  SW_ASSERT_EQ_INT(c.len, PAR_LEN);
  free(c.buf);
}

SW_TEST(fetch_mem_on_refuses_missing_client) {
  uint8_t *body = (uint8_t *)"sentinel";
  size_t len = 5;
  char msg[SW_MSG_MAX] = "";
  SW_ASSERT_EQ_INT(sw_http_fetch_mem_on(NULL, url("/small.txt"), 4096, &body, &len, msg, sizeof msg), SW_ERR_USAGE);
}

SW_TEST(stream_without_length_never_hands_out_more_than_max) {
  coll c;
  sw_http_opts o = opts_ca();
  const uint64_t max = 1000000; /* not a chunk multiple */
  coll_init(&c);
  sw_http_get g = get_for(&c, url("/nolength/big.bin"), max);
  fetch_one(&o, &c, &g);
  SW_ASSERT_EQ_INT(c.err, SW_ERR_HTTP_TOO_BIG);
  SW_ASSERT(c.len <= max);
  SW_ASSERT(c.data_calls > 0); /* it did stream before the cap hit */
  SW_ASSERT(c.offsets_ok);
  SW_ASSERT(memcmp(c.buf, g_big, c.len) == 0);
  free(c.buf);
}

SW_TEST(range_request_returns_only_the_range) {
  coll c;
  sw_http_opts o = opts_ca();
  const uint64_t start = 1000003, n = 77777;
  coll_init(&c);
  sw_http_get g = get_for(&c, url("/big.bin"), BIG_LEN);
  g.range_start = start;
  g.range_len = n;
  fetch_one(&o, &c, &g);
  if (c.err != SW_OK) SW_FAILF("%s: %s", sw_err_name(c.err), c.msg);
  SW_ASSERT_EQ_INT(c.status, 206);
  SW_ASSERT_EQ_INT(c.first_off, start);
  SW_ASSERT_EQ_INT(c.next_off, start + n);
  SW_ASSERT(c.offsets_ok);
  SW_ASSERT_EQ_INT(c.len, n);
  SW_ASSERT(memcmp(c.buf, g_big + start, n) == 0);
  free(c.buf);
}

SW_TEST(range_answered_with_200_is_error) {
  coll c;
  sw_http_opts o = opts_ca();
  coll_init(&c);
  sw_http_get g = get_for(&c, url("/norange/big.bin"), BIG_LEN);
  g.range_start = 10;
  g.range_len = 100;
  fetch_one(&o, &c, &g);
  SW_ASSERT_EQ_INT(c.err, SW_ERR_HTTP);
  SW_ASSERT_EQ_INT(c.status, 200);
  SW_ASSERT_CONTAINS(c.msg, "instead of 206");
  SW_ASSERT_EQ_INT(c.data_calls, 0);
  free(c.buf);
}

SW_TEST(refuses_http_url_without_connecting) {
  uv_loop_t loop;
  sw_http *h = NULL;
  sw_http_req *r = (sw_http_req *)&loop;
  coll c;
  char u[128], msg[SW_MSG_MAX] = "";
  sw_http_opts o = opts_ca();
  SW_ASSERT(g_ready);
  coll_init(&c);
  int before = access_lines_for_port(g_hport);
  SW_ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  SW_ASSERT_EQ_INT(sw_http_new(&h, &loop, &o, msg, sizeof msg), SW_OK);
  const char *schemes[] = {"http", "HTTP", "ftp", "httpsx"};
  for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++) {
    snprintf(u, sizeof u, "%s://127.0.0.1:%d/small.txt", schemes[i], g_hport);
    sw_http_get g = get_for(&c, u, 4096);
    SW_ASSERT_EQ_INT(sw_http_start(h, &g, &r, msg, sizeof msg), SW_ERR_USAGE);
    SW_ASSERT_CONTAINS(msg, "refusing non-HTTPS URL");
    SW_ASSERT_CONTAINS(msg, u);
    SW_ASSERT(r == NULL);
  }
  uv_run(&loop, UV_RUN_NOWAIT);
  sw_http_free(h);
  uv_run(&loop, UV_RUN_DEFAULT);
  SW_ASSERT_EQ_INT(uv_loop_close(&loop), 0);
  SW_ASSERT_EQ_INT(c.done_calls, 0);
  SW_ASSERT_EQ_INT(c.data_calls, 0);
  usleep(200000); /* nginx logs at request end */
  SW_ASSERT_EQ_INT(access_lines_for_port(g_hport), before);
}

SW_TEST(scheme_check_is_case_insensitive) {
  coll c;
  char u[128];
  sw_http_opts o = opts_ca();
  coll_init(&c);
  snprintf(u, sizeof u, "HTTPS://127.0.0.1:%d/small.txt", g_port);
  sw_http_get g = get_for(&c, u, 4096);
  fetch_one(&o, &c, &g);
  if (c.err != SW_OK) SW_FAILF("%s: %s", sw_err_name(c.err), c.msg);
  SW_ASSERT_EQ_INT(c.len, strlen(g_small));
  free(c.buf);
}

SW_TEST(refuses_redirect_to_http) {
  coll c;
  sw_http_opts o = opts_ca();
  SW_ASSERT(g_ready);
  int before = access_lines_for_port(g_hport);
  coll_init(&c);
  sw_http_get g = get_for(&c, url("/redirect-http/small.txt"), 4096);
  fetch_one(&o, &c, &g);
  SW_ASSERT_EQ_INT(c.err, SW_ERR_HTTP);
  SW_ASSERT_CONTAINS(c.msg, "redirect to a non-HTTPS URL refused");
  SW_ASSERT_EQ_INT(c.data_calls, 0);
  usleep(200000);
  SW_ASSERT_EQ_INT(access_lines_for_port(g_hport), before); /* the http:// target never asked */
  free(c.buf);
}

SW_TEST(follows_redirect_to_https) {
  coll c;
  sw_http_opts o = opts_ca();
  coll_init(&c);
  sw_http_get g = get_for(&c, url("/redirect-https/small.txt"), 4096);
  fetch_one(&o, &c, &g);
  if (c.err != SW_OK) SW_FAILF("%s: %s", sw_err_name(c.err), c.msg);
  SW_ASSERT_EQ_INT(c.status, 200);
  SW_ASSERT_EQ_INT(c.len, strlen(g_small));
  SW_ASSERT(memcmp(c.buf, g_small, c.len) == 0);
  free(c.buf);
}

SW_TEST(untrusted_certificate_is_tls_error) {
  coll c;
  sw_http_opts o;
  memset(&o, 0, sizeof o); /* no ca_file: the system store does not know the test CA */
  coll_init(&c);
  sw_http_get g = get_for(&c, url("/small.txt"), 4096);
  fetch_one(&o, &c, &g);
  SW_ASSERT_EQ_INT(c.err, SW_ERR_TLS);
  SW_ASSERT_CONTAINS(c.msg, "TLS: ");
  SW_ASSERT_CONTAINS(c.msg, "certificate");
  SW_ASSERT_CONTAINS(c.msg, "(host 127.0.0.1)");
  SW_ASSERT(strchr(c.msg, '\n') == NULL);
  SW_ASSERT_EQ_INT(c.data_calls, 0);
}

SW_TEST(http_404_is_error_with_status) {
  coll c;
  sw_http_opts o = opts_ca();
  coll_init(&c);
  sw_http_get g = get_for(&c, url("/no-such-file"), 4096);
  fetch_one(&o, &c, &g);
  SW_ASSERT_EQ_INT(c.err, SW_ERR_HTTP);
  SW_ASSERT_EQ_INT(c.status, 404);
  SW_ASSERT_CONTAINS(c.msg, "HTTP 404 from https://127.0.0.1:");
  SW_ASSERT_CONTAINS(c.msg, "/no-such-file");
  SW_ASSERT_EQ_INT(c.data_calls, 0); /* the error page is not body */
}

SW_TEST(slow_server_is_aborted_by_low_speed_limit) {
  coll c;
  sw_http_opts o = opts_ca();
  o.low_speed_bytes = 100000;
  o.low_speed_time_s = 2;
  coll_init(&c);
  sw_http_get g = get_for(&c, url("/slow/big.bin"), BIG_LEN);
  fetch_one(&o, &c, &g);
  SW_ASSERT_EQ_INT(c.err, SW_ERR_HTTP_SLOW);
  double secs = (double)(c.t_done - c.t_start) / 1e9;
  if (secs < 1.5 || secs > 10.0) SW_FAILF("aborted after %.2f s, expected about 2", secs);
  SW_ASSERT(c.len < BIG_LEN);
  free(c.buf);
}

/* A server just above the low-speed limit (limit_rate 20k) cannot hold a
 * transfer past its overall deadline: connect 1 s + low-speed time 1 s +
 * 5 MiB at 5 MiB/s = 3 s, where the whole body takes over 4 minutes. */
SW_TEST(transfer_past_its_deadline_is_aborted) {
  coll c;
  sw_http_opts o = opts_ca();
  o.connect_timeout_ms = 1000;
  o.low_speed_bytes = 1000;
  o.low_speed_time_s = 1;
  o.min_rate = BIG_LEN;
  SW_ASSERT_EQ_INT(sw_http_deadline_ms(&o, BIG_LEN), 3000);
  coll_init(&c);
  sw_http_get g = get_for(&c, url("/slow/big.bin"), BIG_LEN);
  fetch_one(&o, &c, &g);
  SW_ASSERT_EQ_INT(c.err, SW_ERR_HTTP_DEADLINE);
  SW_ASSERT_CONTAINS(c.msg, "deadline of 3 s");
  double secs = (double)(c.t_done - c.t_start) / 1e9;
  if (secs < 2.5 || secs > 8.0) SW_FAILF("aborted after %.2f s, expected about 3", secs);
  SW_ASSERT(c.len > 0 && c.len < BIG_LEN);
  free(c.buf);
}

SW_TEST(deadline_grows_with_the_bytes_and_saturates) {
  sw_http_opts o;
  memset(&o, 0, sizeof o);
  /* defaults: connect 10 s + low-speed time 30 s + bytes at 64 KiB/s */
  SW_ASSERT_EQ_INT(sw_http_deadline_ms(NULL, 0), 40000);
  SW_ASSERT_EQ_INT(sw_http_deadline_ms(&o, 1024u * 1024u * 1024u), 40000 + 16384000);
  o.min_rate = 1;
  SW_ASSERT_EQ_INT(sw_http_deadline_ms(&o, UINT64_MAX), (uint64_t)INT64_MAX / 1000u);
  o.min_rate = 3;
  SW_ASSERT_EQ_INT(sw_http_deadline_ms(&o, 10), 40000 + 3333);
}

static int cr_ok(const char *v, uint64_t f, uint64_t l, uint64_t t) {
  uint64_t a = 1, b = 2, c = 3;
  return sw_http_parse_content_range((const uint8_t *)v, strlen(v), &a, &b, &c) && a == f && b == l && c == t;
}

static int cr_bad(const char *v) {
  uint64_t a = 1, b = 2, c = 3;
  return !sw_http_parse_content_range((const uint8_t *)v, strlen(v), &a, &b, &c) && a == 1 && b == 2 && c == 3;
}

SW_TEST(content_range_accepts_only_the_exact_grammar) {
  SW_ASSERT(cr_ok("bytes 0-0/1", 0, 0, 1));
  SW_ASSERT(cr_ok("bytes 100-199/1000", 100, 199, 1000));
  SW_ASSERT(cr_ok(" BYTES\t5-9/*  ", 5, 9, UINT64_MAX));
  SW_ASSERT(cr_ok("bytes 0-18446744073709551614/18446744073709551615", 0, UINT64_MAX - 1, UINT64_MAX));
  SW_ASSERT(cr_bad(""));
  SW_ASSERT(cr_bad("bytes"));
  SW_ASSERT(cr_bad("bytes "));
  SW_ASSERT(cr_bad("bytes0-1/2"));
  SW_ASSERT(cr_bad("bits 0-1/2"));
  SW_ASSERT(cr_bad("bytes */100"));          /* the 416 form is not a range */
  SW_ASSERT(cr_bad("bytes 1-0/2"));          /* first > last */
  SW_ASSERT(cr_bad("bytes 0-2/2"));          /* last >= total */
  SW_ASSERT(cr_bad("bytes -1-2/3"));
  SW_ASSERT(cr_bad("bytes +1-2/3"));
  SW_ASSERT(cr_bad("bytes 1 -2/3"));
  SW_ASSERT(cr_bad("bytes 1-2/3 x"));
  SW_ASSERT(cr_bad("bytes 1-2/3,4-5/6"));
  SW_ASSERT(cr_bad("bytes 1-2"));
  SW_ASSERT(cr_bad("bytes 1-2/"));
  SW_ASSERT(cr_bad("bytes 0-18446744073709551616/*")); /* overflow */
  {
    /* a NUL inside is not the end of the value */
    uint64_t a, b, c;
    SW_ASSERT(!sw_http_parse_content_range((const uint8_t *)"bytes 0-1/2\0", 12, &a, &b, &c));
    /* longer than SW_CONTENT_RANGE_MAX: refused, whatever it says */
    char big[SW_CONTENT_RANGE_MAX + 20];
    memset(big, ' ', sizeof big);
    memcpy(big, "bytes 0-1/2", 11);
    SW_ASSERT(!sw_http_parse_content_range((const uint8_t *)big, sizeof big, &a, &b, &c));
    SW_ASSERT(sw_http_parse_content_range((const uint8_t *)big, SW_CONTENT_RANGE_MAX, &a, &b, &c));
  }
}

SW_TEST(response_check_refuses_what_was_not_asked) {
  char m[SW_MSG_MAX];
  const uint8_t *cr = (const uint8_t *)"bytes 10-19/100";
  SW_ASSERT_EQ_INT(sw_http_check_response(200, 0, 0, NULL, 0, m, sizeof m), SW_OK);
  SW_ASSERT_EQ_INT(sw_http_check_response(404, 0, 0, NULL, 0, m, sizeof m), SW_ERR_HTTP);
  SW_ASSERT_STREQ(m, "HTTP 404");
  SW_ASSERT_EQ_INT(sw_http_check_response(199, 0, 0, NULL, 0, m, sizeof m), SW_ERR_HTTP);
  SW_ASSERT_EQ_INT(sw_http_check_response(300, 0, 0, NULL, 0, m, sizeof m), SW_ERR_HTTP);
  SW_ASSERT_EQ_INT(sw_http_check_response(206, 0, 0, cr, 15, m, sizeof m), SW_ERR_HTTP);
  SW_ASSERT_CONTAINS(m, "without a range");
  SW_ASSERT_EQ_INT(sw_http_check_response(206, 10, 10, cr, 15, m, sizeof m), SW_OK);
  SW_ASSERT_EQ_INT(sw_http_check_response(200, 10, 10, cr, 15, m, sizeof m), SW_ERR_HTTP);
  SW_ASSERT_CONTAINS(m, "instead of 206");
  SW_ASSERT_EQ_INT(sw_http_check_response(206, 10, 10, NULL, 0, m, sizeof m), SW_ERR_HTTP);
  SW_ASSERT_CONTAINS(m, "without Content-Range");
  SW_ASSERT_EQ_INT(sw_http_check_response(206, 10, 9, cr, 15, m, sizeof m), SW_ERR_HTTP);
  SW_ASSERT_CONTAINS(m, "does not match the range asked (10-18)");
  SW_ASSERT_EQ_INT(sw_http_check_response(206, 11, 9, cr, 15, m, sizeof m), SW_ERR_HTTP);
  SW_ASSERT_EQ_INT(sw_http_check_response(206, UINT64_MAX, 2, cr, 15, m, sizeof m), SW_ERR_HTTP);
}

SW_TEST(connection_refused_is_http_error) {
  coll c;
  char u[128];
  struct sockaddr_in a;
  socklen_t al = sizeof a;
  sw_http_opts o = opts_ca();
  /* A port that was free a moment ago and has no listener now. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  SW_ASSERT(fd >= 0);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  SW_ASSERT_EQ_INT(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  SW_ASSERT_EQ_INT(getsockname(fd, (struct sockaddr *)&a, &al), 0);
  close(fd);
  snprintf(u, sizeof u, "https://127.0.0.1:%d/x", ntohs(a.sin_port));
  coll_init(&c);
  sw_http_get g = get_for(&c, u, 4096);
  fetch_one(&o, &c, &g);
  SW_ASSERT_EQ_INT(c.err, SW_ERR_HTTP);
  SW_ASSERT_EQ_INT(c.status, 0);
  SW_ASSERT_CONTAINS(c.msg, u);
  SW_ASSERT_EQ_INT(c.data_calls, 0);
}

SW_TEST(cancel_from_data_callback_calls_done_once) {
  coll c;
  sw_http_opts o = opts_ca();
  coll_init(&c);
  c.cancel_on_data = 1;
  sw_http_get g = get_for(&c, url("/big.bin"), BIG_LEN);
  fetch_one(&o, &c, &g); /* asserts done_calls == 1 and a clean loop close */
  SW_ASSERT_EQ_INT(c.err, SW_ERR_CANCELLED);
  SW_ASSERT_EQ_INT(c.data_calls, 1);
  free(c.buf);
}

SW_TEST(nonzero_from_data_callback_cancels) {
  coll c;
  sw_http_opts o = opts_ca();
  coll_init(&c);
  c.stop_on_data = 1;
  sw_http_get g = get_for(&c, url("/big.bin"), BIG_LEN);
  fetch_one(&o, &c, &g);
  SW_ASSERT_EQ_INT(c.err, SW_ERR_CANCELLED);
  SW_ASSERT_EQ_INT(c.data_calls, 1);
  free(c.buf);
}

static void free_in_data_cb_done(void *arg, sw_err err, const char *msg, long status) {
  on_done(arg, err, msg, status);
}

static sw_http *g_free_target;
static int free_in_data(void *arg, uint64_t offset, const uint8_t *buf, size_t len) {
  coll *c = arg;
  c->data_calls++;
  (void)offset, (void)buf, (void)len;
  sw_http_free(g_free_target);
  return 0;
}

SW_TEST(free_with_transfers_in_flight_cancels_each_once) {
  uv_loop_t loop;
  sw_http *h = NULL;
  coll a, b;
  char msg[SW_MSG_MAX] = "";
  sw_http_opts o = opts_ca();
  SW_ASSERT(g_ready);
  coll_init(&a);
  coll_init(&b);
  SW_ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  SW_ASSERT_EQ_INT(sw_http_new(&h, &loop, &o, msg, sizeof msg), SW_OK);
  g_free_target = h;
  sw_http_get ga = get_for(&a, url("/big.bin"), BIG_LEN);
  ga.on_data = free_in_data; /* frees the client from inside curl's write callback */
  ga.on_done = free_in_data_cb_done;
  sw_http_get gb = get_for(&b, url("/slow/big.bin"), BIG_LEN);
  SW_ASSERT_EQ_INT(sw_http_start(h, &ga, NULL, msg, sizeof msg), SW_OK);
  SW_ASSERT_EQ_INT(sw_http_start(h, &gb, NULL, msg, sizeof msg), SW_OK);
  uv_run(&loop, UV_RUN_DEFAULT); /* ends once the freed client's handles closed */
  SW_ASSERT_EQ_INT(uv_loop_close(&loop), 0);
  SW_ASSERT_EQ_INT(a.done_calls, 1);
  SW_ASSERT_EQ_INT(b.done_calls, 1);
  SW_ASSERT_EQ_INT(a.data_calls, 1);
  SW_ASSERT_EQ_INT(a.err, SW_ERR_CANCELLED);
  SW_ASSERT_EQ_INT(b.err, SW_ERR_CANCELLED);
  free(b.buf);
}

SW_TEST(two_transfers_in_parallel_on_one_loop) {
  uv_loop_t loop;
  sw_http *h = NULL;
  coll a, b;
  char msg[SW_MSG_MAX] = "";
  sw_http_opts o = opts_ca();
  SW_ASSERT(g_ready);
  coll_init(&a);
  coll_init(&b);
  a.other = &b;
  b.other = &a;
  SW_ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  SW_ASSERT_EQ_INT(sw_http_new(&h, &loop, &o, msg, sizeof msg), SW_OK);
  /* limit_rate 20k: each takes ~2 s, so serial execution would show. */
  sw_http_get ga = get_for(&a, url("/slow/par.bin"), PAR_LEN);
  sw_http_get gb = get_for(&b, url("/slow/par.bin"), PAR_LEN);
  gb.range_start = 1000;
  gb.range_len = PAR_LEN - 2000;
  SW_ASSERT_EQ_INT(sw_http_start(h, &ga, &a.req, msg, sizeof msg), SW_OK);
  SW_ASSERT_EQ_INT(sw_http_start(h, &gb, &b.req, msg, sizeof msg), SW_OK);
  coll *cs[2] = {&a, &b};
  run_until_done(&loop, h, cs, 2);
  if (a.err != SW_OK) SW_FAILF("a: %s: %s", sw_err_name(a.err), a.msg);
  if (b.err != SW_OK) SW_FAILF("b: %s: %s", sw_err_name(b.err), b.msg);
  SW_ASSERT_EQ_INT(a.len, PAR_LEN);
  SW_ASSERT(memcmp(a.buf, g_par, PAR_LEN) == 0);
  SW_ASSERT_EQ_INT(b.len, PAR_LEN - 2000);
  SW_ASSERT(memcmp(b.buf, g_par + 1000, PAR_LEN - 2000) == 0);
  SW_ASSERT(a.offsets_ok && b.offsets_ok);
  /* Both were receiving before either finished. */
  SW_ASSERT_EQ_INT(a.other_done_at_first_data, 0);
  SW_ASSERT_EQ_INT(b.other_done_at_first_data, 0);
  free(a.buf);
  free(b.buf);
}
