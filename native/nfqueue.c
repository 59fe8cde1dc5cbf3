/*
 * Holding packets for a while through NFQUEUE (net/netfilter/nfnetlink_queue.c), over raw
 * nfnetlink: no libnetfilter_queue, so the addon builds wherever the kernel headers are.
 *
 * A rule sends the packets of a port to queue N; this file binds N, and a thread of its own
 * reads each packet's id and gives the verdict NF_ACCEPT once its hold is over (delay, plus a
 * uniform jitter, for a share of the packets: the rest at once, which reorders them). The
 * thread runs apart from Node's event loop, so garbage collection and JavaScript work there do
 * not move the release times; it waits with ppoll() to the microsecond.
 *
 * Kernel facts this rests on:
 * - verdicts may come in any order: nfqnl_recv_verdict finds the packet by its id;
 * - packets still held when the queue is unbound or its socket closes are dropped
 *   (instance_destroy -> nfqnl_flush(.., NF_DROP)): close accepts every held packet first;
 * - with NFQA_CFG_F_FAIL_OPEN a full queue (NFQA_CFG_QUEUE_MAXLEN) lets packets through
 *   instead of dropping them; without a reader at all the rule's bypass flag does the same.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include "common.h"

#define NFQ_MAX_OPEN 4
#define NFQ_QUEUE_MAXLEN 65536
#define NFQ_RCVBUF (16 * 1024 * 1024)
#define NFQ_BATCH 64
#define NFQ_LATE_BUCKETS 24

typedef struct {
  uint32_t id;
  uint64_t release_ns;
} held_t;

typedef struct {
  int fd;
  int wake;
  uint16_t queue;
  uint64_t delay_ns;
  uint64_t jitter_ns;
  uint32_t held_percent;
  uint64_t rng;
  pthread_t thread;
  held_t *heap;
  size_t len;
  size_t cap;
  /* What the JavaScript side reads (nfqueueStats). */
  _Atomic uint64_t received;
  _Atomic uint64_t released;
  _Atomic uint64_t passed_at_once;
  _Atomic uint64_t max_held;
  _Atomic uint64_t late_count;
  _Atomic uint64_t late_sum_ns;
  _Atomic uint64_t late_max_ns;
  /* Lateness of releases: bucket b counts lateness in [2^b, 2^(b+1)) microseconds (b 0: < 2). */
  _Atomic uint64_t late_buckets[NFQ_LATE_BUCKETS];
  _Atomic uint64_t lost_messages;
  _Atomic uint64_t verdict_errors;
} nfq_t;

static nfq_t *open_queues[NFQ_MAX_OPEN];

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: cheap, and good enough to spread jitter and pick the held share. */
static uint64_t next_random(nfq_t *q) {
  q->rng ^= q->rng >> 12;
  q->rng ^= q->rng << 25;
  q->rng ^= q->rng >> 27;
  return q->rng * 0x2545F4914F6CDD1Dull;
}

/* ---- a min-heap of held packets by release time ------------------------------------------ */

static int heap_push(nfq_t *q, held_t item) {
  if (q->len == q->cap) {
    size_t cap = q->cap == 0 ? 1024 : q->cap * 2;
    held_t *grown = realloc(q->heap, cap * sizeof *grown);
    if (grown == NULL) return -1;
    q->heap = grown;
    q->cap = cap;
  }
  size_t i = q->len++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (q->heap[parent].release_ns <= item.release_ns) break;
    q->heap[i] = q->heap[parent];
    i = parent;
  }
  q->heap[i] = item;
  return 0;
}

static held_t heap_pop(nfq_t *q) {
  held_t top = q->heap[0];
  held_t last = q->heap[--q->len];
  size_t i = 0;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= q->len) break;
    if (child + 1 < q->len && q->heap[child + 1].release_ns < q->heap[child].release_ns) child++;
    if (last.release_ns <= q->heap[child].release_ns) break;
    q->heap[i] = q->heap[child];
    i = child;
  }
  if (q->len > 0) q->heap[i] = last;
  return top;
}

/* ---- nfnetlink messages --------------------------------------------------------------------- */

static size_t put_header(char *buf, uint16_t msg_type, uint16_t flags, uint16_t queue) {
  struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
  nlh->nlmsg_len = NLMSG_LENGTH(sizeof(struct nfgenmsg));
  nlh->nlmsg_type = (uint16_t)((NFNL_SUBSYS_QUEUE << 8) | msg_type);
  nlh->nlmsg_flags = flags;
  nlh->nlmsg_seq = 0;
  nlh->nlmsg_pid = 0;
  struct nfgenmsg *nfg = (struct nfgenmsg *)NLMSG_DATA(nlh);
  nfg->nfgen_family = AF_UNSPEC;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = htons(queue);
  return nlh->nlmsg_len;
}

static void put_attr(char *buf, uint16_t type, const void *data, uint16_t len) {
  struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
  struct nlattr *attr = (struct nlattr *)(buf + NLMSG_ALIGN(nlh->nlmsg_len));
  attr->nla_type = type;
  attr->nla_len = (uint16_t)(NLA_HDRLEN + len);
  memcpy((char *)attr + NLA_HDRLEN, data, len);
  nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + NLA_ALIGN(attr->nla_len);
}

/* Send one config message and wait for its acknowledgement; 0 or an errno. */
static int config_request(int fd, const char *buf) {
  const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(fd, buf, nlh->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return errno;
  char reply[4096];
  for (;;) {
    ssize_t n = recv(fd, reply, sizeof reply, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    for (struct nlmsghdr *r = (struct nlmsghdr *)reply; NLMSG_OK(r, (unsigned)n); r = NLMSG_NEXT(r, n)) {
      if (r->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *err = (const struct nlmsgerr *)NLMSG_DATA(r);
        return err->error == 0 ? 0 : -err->error;
      }
    }
  }
}

static int bind_queue(int fd, uint16_t queue) {
  char buf[256];
  memset(buf, 0, sizeof buf);
  put_header(buf, NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, queue);
  struct nfqnl_msg_config_cmd cmd = {.command = NFQNL_CFG_CMD_BIND, .pf = htons(AF_UNSPEC)};
  put_attr(buf, NFQA_CFG_CMD, &cmd, sizeof cmd);
  int err = config_request(fd, buf);
  if (err != 0) return err;
  /* Only the metadata (the packet id): the payload is not needed to hold a packet. */
  memset(buf, 0, sizeof buf);
  put_header(buf, NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, queue);
  struct nfqnl_msg_config_params params = {.copy_range = htonl(0), .copy_mode = NFQNL_COPY_META};
  put_attr(buf, NFQA_CFG_PARAMS, &params, sizeof params);
  uint32_t maxlen = htonl(NFQ_QUEUE_MAXLEN);
  put_attr(buf, NFQA_CFG_QUEUE_MAXLEN, &maxlen, sizeof maxlen);
  uint32_t flags = htonl(NFQA_CFG_F_FAIL_OPEN);
  put_attr(buf, NFQA_CFG_FLAGS, &flags, sizeof flags);
  put_attr(buf, NFQA_CFG_MASK, &flags, sizeof flags);
  return config_request(fd, buf);
}

static void unbind_queue(int fd, uint16_t queue) {
  char buf[128];
  memset(buf, 0, sizeof buf);
  put_header(buf, NFQNL_MSG_CONFIG, NLM_F_REQUEST, queue);
  struct nfqnl_msg_config_cmd cmd = {.command = NFQNL_CFG_CMD_UNBIND, .pf = htons(AF_UNSPEC)};
  put_attr(buf, NFQA_CFG_CMD, &cmd, sizeof cmd);
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  (void)sendto(fd, buf, ((struct nlmsghdr *)buf)->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel);
}

/* Verdicts collected into one buffer: one sendto for up to NFQ_BATCH packets. */
typedef struct {
  char buf[NFQ_BATCH * 64];
  size_t used;
  int count;
} verdicts_t;

static void flush_verdicts(nfq_t *q, verdicts_t *v) {
  if (v->count == 0) return;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t sent;
  do {
    sent = sendto(q->fd, v->buf, v->used, 0, (struct sockaddr *)&kernel, sizeof kernel);
  } while (sent < 0 && errno == EINTR);
  atomic_fetch_add(sent < 0 ? &q->verdict_errors : &q->released, (uint64_t)v->count);
  v->used = 0;
  v->count = 0;
}

static void add_verdict(nfq_t *q, verdicts_t *v, uint32_t id) {
  char *msg = v->buf + v->used;
  memset(msg, 0, 64);
  put_header(msg, NFQNL_MSG_VERDICT, NLM_F_REQUEST, q->queue);
  struct nfqnl_msg_verdict_hdr hdr = {.verdict = htonl(NF_ACCEPT), .id = htonl(id)};
  put_attr(msg, NFQA_VERDICT_HDR, &hdr, sizeof hdr);
  v->used += NLMSG_ALIGN(((struct nlmsghdr *)msg)->nlmsg_len);
  if (++v->count == NFQ_BATCH) flush_verdicts(q, v);
}

static void note_lateness(nfq_t *q, uint64_t late_ns) {
  atomic_fetch_add(&q->late_count, 1);
  atomic_fetch_add(&q->late_sum_ns, late_ns);
  uint64_t max = atomic_load(&q->late_max_ns);
  while (late_ns > max && !atomic_compare_exchange_weak(&q->late_max_ns, &max, late_ns)) {}
  uint64_t us = late_ns / 1000;
  int b = 0;
  while (us >= 2 && b < NFQ_LATE_BUCKETS - 1) {
    us >>= 1;
    b++;
  }
  atomic_fetch_add(&q->late_buckets[b], 1);
}

/* Read every message waiting on the socket: hold each packet, or let it through at once. */
static void receive_packets(nfq_t *q, verdicts_t *v) {
  static _Thread_local char buf[256 * 1024];
  for (;;) {
    ssize_t n = recv(q->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      /* ENOBUFS: the kernel dropped messages; those packets stay queued until the unbind. */
      if (errno == ENOBUFS) {
        atomic_fetch_add(&q->lost_messages, 1);
        continue;
      }
      return;
    }
    uint64_t now = mono_ns();
    for (struct nlmsghdr *nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, (unsigned)n); nlh = NLMSG_NEXT(nlh, n)) {
      if (nlh->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) continue;
      char *attrs = (char *)NLMSG_DATA(nlh) + NLMSG_ALIGN(sizeof(struct nfgenmsg));
      int left = (int)nlh->nlmsg_len - (int)NLMSG_LENGTH(NLMSG_ALIGN(sizeof(struct nfgenmsg)));
      for (struct nlattr *a = (struct nlattr *)attrs; left >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= left;
           left -= NLA_ALIGN(a->nla_len), a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len))) {
        if ((a->nla_type & NLA_TYPE_MASK) != NFQA_PACKET_HDR) continue;
        const struct nfqnl_msg_packet_hdr *ph = (const struct nfqnl_msg_packet_hdr *)((char *)a + NLA_HDRLEN);
        uint32_t id = ntohl(ph->packet_id);
        atomic_fetch_add(&q->received, 1);
        if (q->held_percent < 100 && next_random(q) % 100 >= q->held_percent) {
          atomic_fetch_add(&q->passed_at_once, 1);
          add_verdict(q, v, id);
          break;
        }
        int64_t hold = (int64_t)q->delay_ns;
        if (q->jitter_ns > 0) hold += (int64_t)(next_random(q) % (2 * q->jitter_ns + 1)) - (int64_t)q->jitter_ns;
        if (hold < 0) hold = 0;
        if (heap_push(q, (held_t){.id = id, .release_ns = now + (uint64_t)hold}) != 0) {
          add_verdict(q, v, id); /* out of memory: let it pass rather than strand it */
          break;
        }
        if (q->len > atomic_load(&q->max_held)) atomic_store(&q->max_held, q->len);
        break;
      }
    }
  }
}

static void *verdict_loop(void *arg) {
  nfq_t *q = arg;
  /* Signals are Node's business: this thread must never take one. */
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  static _Thread_local verdicts_t v;
  v.used = 0;
  v.count = 0;
  struct pollfd fds[2] = {{.fd = q->fd, .events = POLLIN}, {.fd = q->wake, .events = POLLIN}};
  for (;;) {
    uint64_t now = mono_ns();
    while (q->len > 0 && q->heap[0].release_ns <= now) {
      held_t h = heap_pop(q);
      note_lateness(q, now - h.release_ns);
      add_verdict(q, &v, h.id);
    }
    flush_verdicts(q, &v);
    struct timespec timeout;
    struct timespec *wait = NULL;
    if (q->len > 0) {
      uint64_t ns = q->heap[0].release_ns - now;
      timeout.tv_sec = (time_t)(ns / 1000000000ull);
      timeout.tv_nsec = (long)(ns % 1000000000ull);
      wait = &timeout;
    }
    int ready = ppoll(fds, 2, wait, NULL);
    if (ready < 0 && errno != EINTR) break;
    if (ready > 0 && (fds[1].revents & POLLIN)) break;
    if (ready > 0 && (fds[0].revents & POLLIN)) receive_packets(q, &v);
    flush_verdicts(q, &v);
  }
  /* Stopping: every packet still held goes through now (an unbind would drop it). */
  receive_packets(q, &v);
  while (q->len > 0) add_verdict(q, &v, heap_pop(q).id);
  flush_verdicts(q, &v);
  unbind_queue(q->fd, q->queue);
  return NULL;
}

/* ---- N-API --------------------------------------------------------------------------------- */

static int get_uint(napi_env env, napi_value value, uint32_t *out) {
  return napi_get_value_uint32(env, value, out) == napi_ok ? 0 : -1;
}

/* nfqueueOpen(queue, delayUs, jitterUs, heldPercent) -> handle */
static napi_value NfqueueOpen(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint32_t queue, delay_us, jitter_us, percent;
  if (argc < 4 || get_uint(env, argv[0], &queue) || get_uint(env, argv[1], &delay_us) || get_uint(env, argv[2], &jitter_us) ||
      get_uint(env, argv[3], &percent) || queue > 65535 || percent > 100) {
    napi_throw_type_error(env, NULL, "nfqueueOpen(queue 0-65535, delayUs, jitterUs, heldPercent 0-100)");
    return NULL;
  }
  int slot = -1;
  for (int i = 0; i < NFQ_MAX_OPEN; i++) {
    if (open_queues[i] == NULL) {
      slot = i;
      break;
    }
  }
  if (slot < 0) return throw_errno(env, "nfqueueOpen", EMFILE);
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) return throw_errno(env, "socket(NETLINK_NETFILTER)", errno);
  int size = NFQ_RCVBUF;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0) (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  struct sockaddr_nl local = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind(netlink)", err);
  }
  int err = bind_queue(fd, (uint16_t)queue);
  if (err != 0) {
    close(fd);
    return throw_errno(env, "binding the NFQUEUE", err);
  }
  nfq_t *q = calloc(1, sizeof *q);
  int wake = eventfd(0, EFD_CLOEXEC);
  if (q == NULL || wake < 0) {
    free(q);
    if (wake >= 0) close(wake);
    unbind_queue(fd, (uint16_t)queue);
    close(fd);
    return throw_errno(env, "nfqueueOpen", ENOMEM);
  }
  q->fd = fd;
  q->wake = wake;
  q->queue = (uint16_t)queue;
  q->delay_ns = (uint64_t)delay_us * 1000ull;
  q->jitter_ns = (uint64_t)jitter_us * 1000ull;
  q->held_percent = percent;
  q->rng = mono_ns() | 1;
  if (pthread_create(&q->thread, NULL, verdict_loop, q) != 0) {
    unbind_queue(fd, (uint16_t)queue);
    close(fd);
    close(wake);
    free(q);
    return throw_errno(env, "pthread_create", EAGAIN);
  }
  open_queues[slot] = q;
  napi_value result;
  napi_create_int32(env, slot, &result);
  return result;
}

static nfq_t *queue_arg(napi_env env, napi_callback_info info, int *slot_out) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t slot = -1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &slot) != napi_ok || slot < 0 || slot >= NFQ_MAX_OPEN || open_queues[slot] == NULL) {
    napi_throw_type_error(env, NULL, "not an open NFQUEUE handle");
    return NULL;
  }
  *slot_out = slot;
  return open_queues[slot];
}

static void set_number(napi_env env, napi_value obj, const char *name, double value) {
  napi_value v;
  napi_create_double(env, value, &v);
  napi_set_named_property(env, obj, name, v);
}

static napi_value stats_object(napi_env env, nfq_t *q, size_t held_now) {
  napi_value obj;
  napi_create_object(env, &obj);
  set_number(env, obj, "queue", q->queue);
  set_number(env, obj, "received", (double)atomic_load(&q->received));
  set_number(env, obj, "released", (double)atomic_load(&q->released));
  set_number(env, obj, "passedAtOnce", (double)atomic_load(&q->passed_at_once));
  set_number(env, obj, "held", (double)held_now);
  set_number(env, obj, "maxHeld", (double)atomic_load(&q->max_held));
  set_number(env, obj, "lostMessages", (double)atomic_load(&q->lost_messages));
  set_number(env, obj, "verdictErrors", (double)atomic_load(&q->verdict_errors));
  uint64_t count = atomic_load(&q->late_count);
  set_number(env, obj, "lateCount", (double)count);
  set_number(env, obj, "lateMeanUs", count == 0 ? 0 : (double)atomic_load(&q->late_sum_ns) / (double)count / 1000.0);
  set_number(env, obj, "lateMaxUs", (double)atomic_load(&q->late_max_ns) / 1000.0);
  napi_value buckets;
  napi_create_array_with_length(env, NFQ_LATE_BUCKETS, &buckets);
  for (uint32_t i = 0; i < NFQ_LATE_BUCKETS; i++) {
    napi_value n;
    napi_create_double(env, (double)atomic_load(&q->late_buckets[i]), &n);
    napi_set_element(env, buckets, i, n);
  }
  napi_set_named_property(env, obj, "lateBucketsLog2Us", buckets);
  return obj;
}

/* nfqueueStats(handle) -> counters, while it runs. */
static napi_value NfqueueStats(napi_env env, napi_callback_info info) {
  int slot;
  nfq_t *q = queue_arg(env, info, &slot);
  if (q == NULL) return NULL;
  uint64_t received = atomic_load(&q->received);
  uint64_t settled = atomic_load(&q->released);
  return stats_object(env, q, received > settled ? (size_t)(received - settled) : 0);
}

/* nfqueueClose(handle) -> final counters: every held packet is accepted, then the queue unbound. */
static napi_value NfqueueClose(napi_env env, napi_callback_info info) {
  int slot;
  nfq_t *q = queue_arg(env, info, &slot);
  if (q == NULL) return NULL;
  uint64_t one = 1;
  (void)!write(q->wake, &one, sizeof one);
  pthread_join(q->thread, NULL);
  napi_value result = stats_object(env, q, q->len);
  close(q->fd);
  close(q->wake);
  free(q->heap);
  free(q);
  open_queues[slot] = NULL;
  return result;
}

/* Called from the module's Init (tcpdiag.c). */
void tcpdiag_register_nfqueue(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"nfqueueOpen", NULL, NfqueueOpen, NULL, NULL, NULL, napi_default, NULL},
    {"nfqueueStats", NULL, NfqueueStats, NULL, NULL, NULL, napi_default, NULL},
    {"nfqueueClose", NULL, NfqueueClose, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
