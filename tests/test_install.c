/* test_install.c - install.h: the --out checks, the copy path without
 * O_TMPFILE (re-hashed; a changed copy installs nothing), the hook's
 * read-only fd of the installed inode and its environment. */
#define _GNU_SOURCE /* nftw */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "install.h"
#include "sw_test.h"

static char base[64];

static void mkbase(void) {
  snprintf(base, sizeof base, "/tmp/swinst.XXXXXX");
  SW_ASSERT(mkdtemp(base) != NULL);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st; (void)flag; (void)ftw;
  return remove(path);
}
/* Remove the test's dir (its owner may, whatever the modes inside). */
static void rmbase(void) { nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static void sub(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", base, name); }

static int entries(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  SW_ASSERT(d != NULL);
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
  closedir(d);
  return n;
}

static void write_all(int fd, const char *s) {
  size_t len = strlen(s);
  SW_ASSERT_EQ_INT(pwrite(fd, s, len, 0), (long long)len);
}

static void read_fd(int fd, char *buf, size_t n) {
  ssize_t k = pread(fd, buf, n - 1, 0);
  SW_ASSERT(k >= 0);
  buf[k] = 0;
}

static void read_path(const char *path, char *buf, size_t n) {
  int fd = open(path, O_RDONLY);
  SW_ASSERT(fd >= 0);
  read_fd(fd, buf, n);
  close(fd);
}

/* A new --out, the store dir, one install of content with the sha of `claimed`. */
static sw_err install_once(const char *content, const char *claimed, sw_install *in, char *msg, size_t msglen) {
  char out[128], scratch[128];
  uint8_t sha[32];
  sub(out, sizeof out, "out");
  sub(scratch, sizeof scratch, "store");
  mkdir(scratch, 0700);
  sw_install_init(in);
  SW_ASSERT_EQ_INT(sw_install_open(in, out, msg, msglen), SW_OK);
  SW_ASSERT_EQ_INT(sw_install_begin(in, "pkg.bin", scratch, -1, msg, msglen), SW_OK);
  write_all(in->fd, content);
  sw_sha256((const uint8_t *)claimed, strlen(claimed), sha);
  return sw_install_commit(in, sha, strlen(claimed), msg, msglen);
}

SW_TEST(install_without_o_tmpfile_copy_that_changed_is_refused) {
  sw_install in;
  char msg[512], out[128];
  mkbase();
  setenv("SWARMUP_FAULT", "no-o-tmpfile", 1);
  /* The private copy holds other bytes than those the gate accepted. */
  SW_ASSERT_EQ_INT(install_once("tampered", "verified", &in, msg, sizeof msg), SW_ERR_PAYLOAD);
  SW_ASSERT_CONTAINS(msg, "changed before it was installed");
  sub(out, sizeof out, "out");
  SW_ASSERT_EQ_INT(entries(out), 0);
  SW_ASSERT_EQ_INT(in.ro_fd, -1);
  sw_install_close(&in);
  SW_ASSERT(access(out, F_OK) != 0); /* made by open, removed again */
  rmbase();
}

SW_TEST(install_without_o_tmpfile_longer_copy_is_refused) {
  sw_install in;
  char msg[512], out[128];
  mkbase();
  setenv("SWARMUP_FAULT", "no-o-tmpfile", 1);
  SW_ASSERT_EQ_INT(install_once("verified+more", "verified", &in, msg, sizeof msg), SW_ERR_PAYLOAD);
  sub(out, sizeof out, "out");
  SW_ASSERT_EQ_INT(entries(out), 0);
  sw_install_close(&in);
  rmbase();
}

SW_TEST(install_without_o_tmpfile_copies_exact_bytes) {
  sw_install in;
  char msg[512], path[128], buf[64], store[128];
  mkbase();
  setenv("SWARMUP_FAULT", "no-o-tmpfile", 1);
  SW_ASSERT_EQ_INT(install_once("verified", "verified", &in, msg, sizeof msg), SW_OK);
  sub(path, sizeof path, "out/pkg.bin");
  read_path(path, buf, sizeof buf);
  SW_ASSERT_STREQ(buf, "verified");
  sub(path, sizeof path, "out");
  SW_ASSERT_EQ_INT(entries(path), 1);
  sub(store, sizeof store, "store");
  SW_ASSERT_EQ_INT(entries(store), 0); /* the private copy never had a name left behind */
  read_fd(in.ro_fd, buf, sizeof buf);
  SW_ASSERT_STREQ(buf, "verified");
  sw_install_close(&in);
  rmbase();
}

SW_TEST(install_ro_fd_is_the_installed_inode_after_a_swap) {
  sw_install in;
  char msg[512], path[128], evil[128], buf[64];
  uint8_t sha[32];
  char hex[65];
  mkbase();
  unsetenv("SWARMUP_FAULT");
  SW_ASSERT_EQ_INT(install_once("verified", "verified", &in, msg, sizeof msg), SW_OK);
  sub(path, sizeof path, "out/pkg.bin");
  sub(evil, sizeof evil, "out/evil");
  {
    int fd = open(evil, O_WRONLY | O_CREAT | O_EXCL, 0644);
    SW_ASSERT(fd >= 0);
    write_all(fd, "evil");
    close(fd);
  }
  SW_ASSERT_EQ_INT(rename(evil, path), 0);
  read_fd(in.ro_fd, buf, sizeof buf);
  SW_ASSERT_STREQ(buf, "verified");
  SW_ASSERT_EQ_INT(write(in.ro_fd, "x", 1), -1);
  SW_ASSERT_EQ_INT(errno, EBADF);
  sw_sha256((const uint8_t *)"verified", 8, sha);
  sw_hex(sha, 32, hex);
  SW_ASSERT_STREQ(in.sha256, hex);
  sw_install_close(&in);
  rmbase();
}

/* Link mode: a file "store/pkg.bin" with content, installed from it as the
 * gate would hand it over (open, after its check). */
static sw_err link_once(const char *content, const char *claimed, sw_install *in, char *msg, size_t msglen) {
  char out[128], store[128], file[128];
  uint8_t sha[32];
  int dfd, fd;
  sub(out, sizeof out, "out");
  sub(store, sizeof store, "store");
  sub(file, sizeof file, "store/pkg.bin");
  mkdir(store, 0700);
  fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  SW_ASSERT(fd >= 0);
  write_all(fd, content);
  close(fd);
  dfd = open(store, O_RDONLY | O_DIRECTORY);
  SW_ASSERT(dfd >= 0);
  sw_install_init(in);
  SW_ASSERT_EQ_INT(sw_install_open(in, out, msg, msglen), SW_OK);
  SW_ASSERT_EQ_INT(sw_install_begin(in, "pkg.bin", store, dfd, msg, msglen), SW_OK);
  close(dfd);
  SW_ASSERT_EQ_INT(in->link, 1);
  SW_ASSERT_EQ_INT(in->fd, -1); /* the gate makes no copy */
  fd = open(file, O_RDONLY);
  SW_ASSERT(fd >= 0);
  sw_install_set_source(in, fd);
  sw_sha256((const uint8_t *)claimed, strlen(claimed), sha);
  return sw_install_commit(in, sha, strlen(claimed), msg, msglen);
}

static void same_inode(const char *a, const char *b, int want) {
  struct stat sa, sb;
  SW_ASSERT_EQ_INT(stat(a, &sa), 0);
  SW_ASSERT_EQ_INT(stat(b, &sb), 0);
  SW_ASSERT_EQ_INT(sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino, want);
}

SW_TEST(install_link_mode_installs_the_checked_inode_with_a_copys_mode) {
  sw_install in;
  char msg[512], path[128], file[128], out[128], buf[64];
  struct stat st;
  mode_t old = umask(027);
  mkbase();
  unsetenv("SWARMUP_FAULT");
  SW_ASSERT_EQ_INT(link_once("verified", "verified", &in, msg, sizeof msg), SW_OK);
  sub(path, sizeof path, "out/pkg.bin");
  sub(file, sizeof file, "store/pkg.bin");
  same_inode(path, file, 1); /* nothing was written twice */
  SW_ASSERT_EQ_INT(stat(path, &st), 0);
  SW_ASSERT_EQ_INT(st.st_mode & 07777, 0640); /* 0644 less the umask, not the store's 0600 */
  read_path(path, buf, sizeof buf);
  SW_ASSERT_STREQ(buf, "verified");
  read_fd(in.ro_fd, buf, sizeof buf);
  SW_ASSERT_STREQ(buf, "verified");
  sub(out, sizeof out, "out");
  SW_ASSERT_EQ_INT(entries(out), 1); /* no temporary name left */
  sw_install_close(&in);
  /* Installed again from the same file (a rename onto a link of the same
   * inode changes nothing): still one name. */
  SW_ASSERT_EQ_INT(link_once("verified", "verified", &in, msg, sizeof msg), SW_OK);
  same_inode(path, file, 1);
  SW_ASSERT_EQ_INT(entries(out), 1);
  sw_install_close(&in);
  umask(old);
  rmbase();
}

SW_TEST(install_link_mode_refuses_a_file_of_another_size) {
  sw_install in;
  char msg[512], out[128];
  mkbase();
  unsetenv("SWARMUP_FAULT");
  SW_ASSERT_EQ_INT(link_once("verified+more", "verified", &in, msg, sizeof msg), SW_ERR_PAYLOAD);
  SW_ASSERT_CONTAINS(msg, "changed before it was installed");
  sub(out, sizeof out, "out");
  SW_ASSERT_EQ_INT(entries(out), 0);
  SW_ASSERT_EQ_INT(in.ro_fd, -1);
  sw_install_close(&in);
  rmbase();
}

SW_TEST(install_link_mode_without_links_copies_and_rehashes) {
  sw_install in;
  char msg[512], path[128], file[128], out[128], buf[64];
  mkbase();
  setenv("SWARMUP_FAULT", "no-link", 1);
  SW_ASSERT_EQ_INT(link_once("verified", "verified", &in, msg, sizeof msg), SW_OK);
  sub(path, sizeof path, "out/pkg.bin");
  sub(file, sizeof file, "store/pkg.bin");
  same_inode(path, file, 0); /* a copy */
  read_path(path, buf, sizeof buf);
  SW_ASSERT_STREQ(buf, "verified");
  sw_install_close(&in);
  /* The file changed after its check (same size): the copy's hash says so. */
  SW_ASSERT_EQ_INT(link_once("tampered", "verified", &in, msg, sizeof msg), SW_ERR_PAYLOAD);
  SW_ASSERT_CONTAINS(msg, "changed before it was installed");
  read_path(path, buf, sizeof buf);
  SW_ASSERT_STREQ(buf, "verified"); /* the earlier install stays */
  sub(out, sizeof out, "out");
  SW_ASSERT_EQ_INT(entries(out), 1);
  sw_install_close(&in);
  unsetenv("SWARMUP_FAULT");
  rmbase();
}

SW_TEST(install_from_another_file_system_copies_while_checking) {
  sw_install in;
  char msg[512], out[128], store[128];
  int other = open("/proc", O_RDONLY | O_DIRECTORY); /* never the file system of /tmp */
  SW_ASSERT(other >= 0);
  mkbase();
  unsetenv("SWARMUP_FAULT");
  sub(out, sizeof out, "out");
  sub(store, sizeof store, "store");
  mkdir(store, 0700);
  sw_install_init(&in);
  SW_ASSERT_EQ_INT(sw_install_open(&in, out, msg, sizeof msg), SW_OK);
  SW_ASSERT_EQ_INT(sw_install_begin(&in, "pkg.bin", store, other, msg, sizeof msg), SW_OK);
  SW_ASSERT_EQ_INT(in.link, 0);
  SW_ASSERT(in.fd >= 0); /* the gate writes its copy here */
  close(other);
  sw_install_close(&in);
  rmbase();
}

SW_TEST(install_refuses_out_writable_by_group_or_others) {
  sw_install in;
  char msg[512], out[128];
  static const struct { unsigned mode; const char *text; } cases[] = {
    {0770, "writable by group (mode 0770)"},
    {0703, "writable by others (mode 0703)"},
    {01777, "writable by group and others (mode 1777, sticky like /tmp)"},
  };
  mkbase();
  sub(out, sizeof out, "out");
  SW_ASSERT_EQ_INT(mkdir(out, 0700), 0);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    SW_ASSERT_EQ_INT(chmod(out, cases[i].mode), 0);
    sw_install_init(&in);
    SW_ASSERT_EQ_INT(sw_install_open(&in, out, msg, sizeof msg), SW_ERR_CONFIG);
    SW_ASSERT_CONTAINS(msg, cases[i].text);
    SW_ASSERT_EQ_INT(in.dir_fd, -1);
    sw_install_close(&in);
  }
  rmbase();
}

SW_TEST(install_refuses_out_under_a_writable_parent) {
  sw_install in;
  char msg[512], parent[128], out[128];
  mkbase();
  sub(parent, sizeof parent, "shared");
  sub(out, sizeof out, "shared/out");
  SW_ASSERT_EQ_INT(mkdir(parent, 0700), 0);
  SW_ASSERT_EQ_INT(chmod(parent, 0777), 0);
  sw_install_init(&in);
  SW_ASSERT_EQ_INT(sw_install_open(&in, out, msg, sizeof msg), SW_ERR_CONFIG);
  SW_ASSERT_CONTAINS(msg, "shared is writable by group and others");
  SW_ASSERT(access(out, F_OK) != 0); /* not made under an unsafe parent */
  sw_install_close(&in);
  /* Sticky above --out is fine (like /tmp above a dir of ours). */
  SW_ASSERT_EQ_INT(chmod(parent, 01777), 0);
  sw_install_init(&in);
  SW_ASSERT_EQ_INT(sw_install_open(&in, out, msg, sizeof msg), SW_OK);
  SW_ASSERT_EQ_INT(in.created_dir, 1);
  sw_install_close(&in);
  SW_ASSERT(access(out, F_OK) != 0); /* made, unused, removed */
  rmbase();
}

SW_TEST(install_refuses_a_file_as_out) {
  sw_install in;
  char msg[512], file[128], under[160];
  int fd;
  mkbase();
  sub(file, sizeof file, "file");
  fd = open(file, O_WRONLY | O_CREAT, 0600);
  SW_ASSERT(fd >= 0);
  close(fd);
  sw_install_init(&in);
  SW_ASSERT_EQ_INT(sw_install_open(&in, file, msg, sizeof msg), SW_ERR_CONFIG);
  SW_ASSERT_CONTAINS(msg, "is not a directory");
  sw_install_close(&in);
  snprintf(under, sizeof under, "%s/sub", file);
  sw_install_init(&in);
  SW_ASSERT_EQ_INT(sw_install_open(&in, under, msg, sizeof msg), SW_ERR_CONFIG);
  SW_ASSERT_CONTAINS(msg, "not a directory");
  sw_install_close(&in);
  rmbase();
}

SW_TEST(install_resolves_a_symlinked_out_once) {
  sw_install in;
  char msg[512], real[128], link[128], want[160];
  mkbase();
  sub(real, sizeof real, "real");
  sub(link, sizeof link, "link");
  SW_ASSERT_EQ_INT(mkdir(real, 0755), 0);
  SW_ASSERT_EQ_INT(symlink(real, link), 0);
  sw_install_init(&in);
  SW_ASSERT_EQ_INT(sw_install_open(&in, link, msg, sizeof msg), SW_OK);
  SW_ASSERT(realpath(real, want) != NULL);
  SW_ASSERT_STREQ(in.dir, want); /* the hook's path does not go through the link */
  sw_install_close(&in);
  rmbase();
}

SW_TEST(install_hook_env_replaces_inherited_values) {
  sw_install in;
  char **env;
  int n_sha = 0, n_fd = 0, n_file = 0, other = 0;
  sw_install_init(&in);
  snprintf(in.sha256, sizeof in.sha256, "%064d", 7);
  setenv("SWARMUP_SHA256", "planted", 1);
  setenv("SWARMUP_FILE_FD", "0", 1);
  setenv("SW_TEST_OTHER", "kept", 1);
  env = sw_install_hook_env(&in, "/srv/pkg.bin", 3);
  SW_ASSERT(env != NULL);
  for (char **e = env; *e; e++) {
    if (strncmp(*e, "SWARMUP_SHA256=", 15) == 0) {
      n_sha++;
      SW_ASSERT_STREQ(*e + 15, in.sha256);
    } else if (strncmp(*e, "SWARMUP_FILE_FD=", 16) == 0) {
      n_fd++;
      SW_ASSERT_STREQ(*e + 16, "3");
    } else if (strncmp(*e, "SWARMUP_FILE=", 13) == 0) {
      n_file++;
      SW_ASSERT_STREQ(*e + 13, "/srv/pkg.bin");
    } else if (strcmp(*e, "SW_TEST_OTHER=kept") == 0) {
      other++;
    }
  }
  SW_ASSERT_EQ_INT(n_sha, 1);
  SW_ASSERT_EQ_INT(n_fd, 1);
  SW_ASSERT_EQ_INT(n_file, 1);
  SW_ASSERT_EQ_INT(other, 1);
  sw_install_free_env(env);
}
