/* delayline.c - one-way delay for tools/netlab on kernels without sch_netem.
 *
 *   sw_delayline QUEUE DELAY_MS JITTER_MS READY_FILE
 *
 * Run inside a host's network namespace, where an nftables rule sends every packet leaving
 * eth0 to NFQUEUE QUEUE. Each packet is held DELAY_MS plus a uniform random share of
 * JITTER_MS, then accepted. Packets leave in the order they came (a release time is never
 * earlier than the previous one's): jitter without reordering, as on one real path. Only the
 * packet's metadata is copied to us (NFQNL_COPY_META), and verdicts are batched
 * (NFQNL_MSG_VERDICT_BATCH accepts every id up to one), so the cost is one netlink read per
 * packet. Talks netlink directly (the kernel's uapi headers), no library.
 * Writes READY_FILE once bound; stops on SIGTERM/SIGINT, accepting what it holds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h> /* before the kernel's headers: they define in_addr again otherwise */
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DL_RING (1u << 20) /* packets held at most (a power of two) */
#define DL_BUF (1u << 16)

typedef struct {
  uint32_t id;
  uint64_t due_ns;
} dl_pkt;

static volatile sig_atomic_t dl_stop;
static void dl_on_signal(int sig) {
  (void)sig;
  dl_stop = 1;
}

static uint64_t dl_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Append one attribute to the message at BUF (its nlmsg_len grows). */
static void dl_attr(char *buf, uint16_t type, const void *data, uint16_t len) {
  struct nlmsghdr *nh = (struct nlmsghdr *)buf;
  struct nlattr *a = (struct nlattr *)(buf + NLMSG_ALIGN(nh->nlmsg_len));
  a->nla_type = type;
  a->nla_len = (uint16_t)(NLA_HDRLEN + len);
  memcpy((char *)a + NLA_HDRLEN, data, len);
  nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static void dl_begin(char *buf, uint16_t msg, uint16_t queue, uint16_t flags) {
  memset(buf, 0, 256);
  struct nlmsghdr *nh = (struct nlmsghdr *)buf;
  nh->nlmsg_len = NLMSG_LENGTH(sizeof(struct nfgenmsg));
  nh->nlmsg_type = (uint16_t)((NFNL_SUBSYS_QUEUE << 8) | msg);
  nh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
  struct nfgenmsg *g = NLMSG_DATA(nh);
  g->nfgen_family = AF_UNSPEC;
  g->version = NFNETLINK_V0;
  g->res_id = htons(queue);
}

/* Send the message at BUF; with NLM_F_ACK set, wait for the kernel's answer. */
static int dl_send(int fd, char *buf, int want_ack) {
  struct nlmsghdr *nh = (struct nlmsghdr *)buf;
  if (send(fd, buf, nh->nlmsg_len, 0) < 0) return -errno;
  if (!want_ack) return 0;
  char ans[512];
  ssize_t n = recv(fd, ans, sizeof ans, 0);
  if (n < (ssize_t)NLMSG_HDRLEN) return -EIO;
  struct nlmsghdr *r = (struct nlmsghdr *)ans;
  if (r->nlmsg_type == NLMSG_ERROR) return ((struct nlmsgerr *)NLMSG_DATA(r))->error;
  return 0;
}

static int dl_verdict_upto(int fd, uint16_t queue, uint32_t id) {
  char buf[256];
  dl_begin(buf, NFQNL_MSG_VERDICT_BATCH, queue, 0);
  struct nfqnl_msg_verdict_hdr vh = {htonl(NF_ACCEPT), htonl(id)};
  dl_attr(buf, NFQA_VERDICT_HDR, &vh, sizeof vh);
  return dl_send(fd, buf, 0);
}

int main(int argc, char **argv) {
  int fd = -1, rc = 1;
  dl_pkt *ring = NULL;
  char *rbuf = NULL;
  if (argc != 5) {
    fprintf(stderr, "usage: sw_delayline QUEUE DELAY_MS JITTER_MS READY_FILE\n");
    return 2;
  }
  uint16_t queue = (uint16_t)atoi(argv[1]);
  uint64_t delay_ns = (uint64_t)(atof(argv[2]) * 1e6), jitter_ns = (uint64_t)(atof(argv[3]) * 1e6);
  signal(SIGTERM, dl_on_signal);
  signal(SIGINT, dl_on_signal);
  ring = calloc(DL_RING, sizeof *ring);
  rbuf = malloc(DL_BUF);
  if (!ring || !rbuf) goto out;
  fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
  if (fd < 0) {
    perror("sw_delayline: socket");
    goto out;
  }
  int big = 16 << 20, one = 1;
  /* A full receive buffer would lose packets' notices (and the packets with them). */
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
  setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    perror("sw_delayline: bind");
    goto out;
  }
  char buf[256];
  dl_begin(buf, NFQNL_MSG_CONFIG, queue, NLM_F_ACK);
  struct nfqnl_msg_config_cmd cmd = {NFQNL_CFG_CMD_BIND, 0, htons(AF_INET)};
  dl_attr(buf, NFQA_CFG_CMD, &cmd, sizeof cmd);
  int e = dl_send(fd, buf, 1);
  if (e) {
    fprintf(stderr, "sw_delayline: bind queue %u: %s\n", queue, strerror(-e));
    goto out;
  }
  dl_begin(buf, NFQNL_MSG_CONFIG, queue, NLM_F_ACK);
  struct nfqnl_msg_config_params par = {htonl(0), NFQNL_COPY_META};
  dl_attr(buf, NFQA_CFG_PARAMS, &par, sizeof par);
  uint32_t maxlen = htonl(DL_RING - 1);
  dl_attr(buf, NFQA_CFG_QUEUE_MAXLEN, &maxlen, sizeof maxlen);
  e = dl_send(fd, buf, 1);
  if (e) {
    fprintf(stderr, "sw_delayline: queue parameters: %s\n", strerror(-e));
    goto out;
  }
  FILE *rf = fopen(argv[4], "w");
  if (!rf) goto out;
  fprintf(rf, "%d\n", (int)getpid());
  fclose(rf);

  uint32_t head = 0, tail = 0; /* ring[tail..head) are held, oldest first */
  uint64_t last_due = 0, seed = dl_now_ns() | 1;
  while (!dl_stop) {
    uint64_t now = dl_now_ns();
    /* Release every packet that is due: one batch verdict for the longest due prefix. */
    if (tail != head && ring[tail & (DL_RING - 1)].due_ns <= now) {
      uint32_t last = tail;
      while (last + 1 != head && ring[(last + 1) & (DL_RING - 1)].due_ns <= now) last++;
      if (dl_verdict_upto(fd, queue, ring[last & (DL_RING - 1)].id) == 0) tail = last + 1;
    }
    int wait_ms = -1;
    if (tail != head) {
      uint64_t due = ring[tail & (DL_RING - 1)].due_ns;
      now = dl_now_ns();
      wait_ms = due > now ? (int)((due - now + 999999) / 1000000) : 0;
    }
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, wait_ms) < 0 && errno != EINTR) break;
    if (!(p.revents & POLLIN)) continue;
    for (;;) { /* drain what is readable now */
      ssize_t n = recv(fd, rbuf, DL_BUF, MSG_DONTWAIT);
      if (n <= 0) break;
      now = dl_now_ns();
      for (struct nlmsghdr *nh = (struct nlmsghdr *)rbuf; NLMSG_OK(nh, (unsigned)n); nh = NLMSG_NEXT(nh, n)) {
        if ((nh->nlmsg_type & 0xff) != NFQNL_MSG_PACKET) continue;
        struct nlattr *a = (struct nlattr *)((char *)NLMSG_DATA(nh) + NLMSG_ALIGN(sizeof(struct nfgenmsg)));
        int left = (int)nh->nlmsg_len - (int)NLMSG_SPACE(sizeof(struct nfgenmsg));
        while (left >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= left) {
          if ((a->nla_type & NLA_TYPE_MASK) == NFQA_PACKET_HDR) {
            struct nfqnl_msg_packet_hdr *ph = (struct nfqnl_msg_packet_hdr *)((char *)a + NLA_HDRLEN);
            if (head - tail >= DL_RING - 1) break; /* cannot happen: the kernel's queue is shorter */
            seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
            uint64_t due = now + delay_ns + (jitter_ns ? seed % jitter_ns : 0);
            if (due < last_due) due = last_due; /* no reordering */
            last_due = due;
            ring[head & (DL_RING - 1)] = (dl_pkt){ntohl(ph->packet_id), due};
            head++;
            break;
          }
          left -= NLA_ALIGN(a->nla_len);
          a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
        }
      }
    }
  }
  if (tail != head) dl_verdict_upto(fd, queue, ring[(head - 1) & (DL_RING - 1)].id);
  rc = 0;
out:
  if (fd >= 0) close(fd);
  free(ring);
  free(rbuf);
  return rc;
}
