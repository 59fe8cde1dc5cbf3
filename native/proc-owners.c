/*
 * scanSocketInodes(procRoot, wanted) -> { inodes: Uint32Array, pids: Int32Array,
 *                                          fds: Int32Array, unreadable: number }
 *
 * Which process holds which socket: every /proc/PID/fd/N whose link reads "socket:[INODE]"
 * (proc(5)), for the inodes in `wanted` (a sorted Uint32Array), or every socket when `wanted`
 * is null. The same walk `ss -p` does, with readlinkat() relative to each fd directory instead
 * of a full path per fd, and no JS string per fd: on tens of thousands of sockets this walk is
 * most of the cost of naming owners. `unreadable` counts processes whose fd directory could not
 * be opened (another user's, without root). Names (comm) are read in TypeScript, once per pid.
 *
 * The walk is readlinkat() calls, each resolved by the kernel (proc_fd_link + d_path): CPU
 * bound, so processes are shared out to one thread per online CPU (at most 4), each taking the
 * next pid from a common counter, and the results are merged. On the 2 cores here that halves
 * the walk; ss walks in one thread.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

napi_value ScanSocketInodes(napi_env env, napi_callback_info info);

struct triples {
  uint32_t *inode;
  int32_t *pid;
  int32_t *fd;
  size_t len, cap;
};

static int push(struct triples *t, uint32_t inode, int32_t pid, int32_t fd) {
  if (t->len == t->cap) {
    size_t cap = t->cap == 0 ? 1024 : t->cap * 2;
    uint32_t *i = realloc(t->inode, cap * sizeof *i);
    if (i == NULL) return -1;
    t->inode = i;
    int32_t *p = realloc(t->pid, cap * sizeof *p);
    if (p == NULL) return -1;
    t->pid = p;
    int32_t *f = realloc(t->fd, cap * sizeof *f);
    if (f == NULL) return -1;
    t->fd = f;
    t->cap = cap;
  }
  t->inode[t->len] = inode;
  t->pid[t->len] = pid;
  t->fd[t->len] = fd;
  t->len++;
  return 0;
}

static int wanted_has(const uint32_t *wanted, size_t n, uint32_t inode) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (wanted[mid] == inode) return 1;
    if (wanted[mid] < inode) lo = mid + 1;
    else hi = mid;
  }
  return 0;
}

static int all_digits(const char *s) {
  if (*s == '\0') return 0;
  for (; *s; s++) if (*s < '0' || *s > '9') return 0;
  return 1;
}

static napi_value typed(napi_env env, napi_typedarray_type type, const void *data, size_t len, size_t elem) {
  void *bytes = NULL;
  napi_value buffer, array;
  if (napi_create_arraybuffer(env, len * elem, &bytes, &buffer) != napi_ok) return NULL;
  if (len > 0) memcpy(bytes, data, len * elem);
  if (napi_create_typedarray(env, type, len, buffer, 0, &array) != napi_ok) return NULL;
  return array;
}

struct walk {
  const char *root;
  const uint32_t *wanted;
  size_t wantedLen;
  const int32_t *pids;
  size_t pidCount;
  atomic_size_t next;
};

struct worker {
  struct walk *walk;
  struct triples found;
  int unreadable;
  int failed;
};

static void scan_process(struct worker *w, int32_t pid) {
  /* root (< 256) + "/" + a pid + "/fd" */
  char path[256 + 32], link[64];
  snprintf(path, sizeof path, "%s/%d/fd", w->walk->root, (int)pid);
  int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) {
    if (errno == EACCES || errno == EPERM) w->unreadable++; /* ENOENT: it just exited */
    return;
  }
  DIR *fds = fdopendir(dirfd);
  if (fds == NULL) {
    close(dirfd);
    return;
  }
  struct dirent *f;
  while ((f = readdir(fds)) != NULL) {
    if (f->d_name[0] == '.') continue;
    ssize_t n = readlinkat(dirfd, f->d_name, link, sizeof link - 1);
    /* "socket:[12345]" */
    if (n < 10 || memcmp(link, "socket:[", 8) != 0 || link[n - 1] != ']') continue;
    link[n - 1] = '\0';
    uint32_t inode = (uint32_t)strtoul(link + 8, NULL, 10);
    if (w->walk->wanted != NULL && !wanted_has(w->walk->wanted, w->walk->wantedLen, inode)) continue;
    if (push(&w->found, inode, pid, (int32_t)atoi(f->d_name)) != 0) {
      w->failed = 1;
      break;
    }
  }
  closedir(fds);
}

static void *run_worker(void *arg) {
  struct worker *w = arg;
  for (;;) {
    size_t i = atomic_fetch_add(&w->walk->next, 1);
    if (i >= w->walk->pidCount || w->failed) break;
    scan_process(w, w->walk->pids[i]);
  }
  return NULL;
}

#define MAX_THREADS 4

/* Every pid under root; NULL (errno set) on failure. */
static int32_t *list_pids(const char *root, size_t *count) {
  DIR *proc = opendir(root);
  if (proc == NULL) return NULL;
  size_t len = 0, cap = 1024;
  int32_t *pids = malloc(cap * sizeof *pids);
  struct dirent *p;
  while (pids != NULL && (p = readdir(proc)) != NULL) {
    if (!all_digits(p->d_name)) continue;
    if (len == cap) {
      int32_t *grown = realloc(pids, (cap *= 2) * sizeof *pids);
      if (grown == NULL) {
        free(pids);
        pids = NULL;
        break;
      }
      pids = grown;
    }
    pids[len++] = (int32_t)atoi(p->d_name);
  }
  closedir(proc);
  *count = len;
  return pids;
}

napi_value ScanSocketInodes(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    napi_throw_type_error(env, NULL, "scanSocketInodes(procRoot, wanted)");
    return NULL;
  }
  char root[256];
  size_t rootLen = 0;
  if (napi_get_value_string_utf8(env, argv[0], root, sizeof root, &rootLen) != napi_ok) {
    napi_throw_type_error(env, NULL, "procRoot must be a string");
    return NULL;
  }
  const uint32_t *wanted = NULL;
  size_t wantedLen = 0;
  napi_valuetype kind;
  napi_typeof(env, argv[1], &kind);
  if (kind != napi_null && kind != napi_undefined) {
    napi_typedarray_type type;
    void *data;
    if (napi_get_typedarray_info(env, argv[1], &type, &wantedLen, &data, NULL, NULL) != napi_ok || type != napi_uint32_array) {
      napi_throw_type_error(env, NULL, "wanted must be a sorted Uint32Array or null");
      return NULL;
    }
    wanted = data;
  }

  size_t pidCount = 0;
  int32_t *pids = list_pids(root, &pidCount);
  if (pids == NULL) {
    napi_throw_error(env, "ENOENT", "cannot list the proc root");
    return NULL;
  }
  struct walk walk = { root, wanted, wantedLen, pids, pidCount, 0 };
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  int threads = cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : (int)cpus;
  struct worker workers[MAX_THREADS];
  pthread_t ids[MAX_THREADS];
  int started[MAX_THREADS] = {0};
  for (int i = 0; i < threads; i++) {
    workers[i] = (struct worker){ &walk, {0}, 0, 0 };
    /* Thread 0 is this one; a thread that cannot start leaves its share to the others. */
    if (i > 0) started[i] = pthread_create(&ids[i], NULL, run_worker, &workers[i]) == 0;
  }
  run_worker(&workers[0]);
  struct triples t = {0};
  int unreadable = 0, failed = 0;
  for (int i = 0; i < threads; i++) {
    if (i > 0 && started[i]) pthread_join(ids[i], NULL);
    struct worker *w = &workers[i];
    unreadable += w->unreadable;
    failed |= w->failed;
    for (size_t k = 0; !failed && k < w->found.len; k++) failed = push(&t, w->found.inode[k], w->found.pid[k], w->found.fd[k]) != 0;
    free(w->found.inode);
    free(w->found.pid);
    free(w->found.fd);
  }
  free(pids);
  napi_value result = NULL;
  if (failed) {
    napi_throw_error(env, "ENOMEM", "out of memory while scanning /proc");
  } else {
    napi_value inodes = typed(env, napi_uint32_array, t.inode, t.len, 4);
    napi_value pidArray = typed(env, napi_int32_array, t.pid, t.len, 4);
    napi_value fdv = typed(env, napi_int32_array, t.fd, t.len, 4);
    napi_value count;
    if (inodes != NULL && pidArray != NULL && fdv != NULL && napi_create_int32(env, unreadable, &count) == napi_ok
        && napi_create_object(env, &result) == napi_ok) {
      napi_set_named_property(env, result, "inodes", inodes);
      napi_set_named_property(env, result, "pids", pidArray);
      napi_set_named_property(env, result, "fds", fdv);
      napi_set_named_property(env, result, "unreadable", count);
    }
  }
  free(t.inode);
  free(t.pid);
  free(t.fd);
  return result;
}
