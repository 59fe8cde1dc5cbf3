/*
 * tcpdiag's native helpers: the few syscalls Node.js does not expose.
 *
 *   sockDiagDump, openInNetns: see sockdiag.c (socket dumps, network namespaces).
 *   getTcpInfo(fd) -> Buffer | null         getsockopt(TCP_INFO) on a socket we own.
 *   tcpTotalRetrans(fd) -> number           tcpi_total_retrans, or -1 when the socket is gone:
 *       the load generator samples every socket it closes (10^4-10^5 a second), so this
 *       returns a number instead of a Buffer to decode, and does not throw.
 *   setIntSockOpt(fd, level, name, value)   setsockopt with an int value.
 *   getIntSockOpt(fd, level, name) -> int
 *   connectWithMss(ip, port, mss) -> fd
 *       socket() + TCP_MAXSEG + non-blocking connect(): the MSS must be set
 *       before the SYN is sent (RFC 9293 3.7.1), and Node creates the fd inside
 *       connect(). The fd is handed to net.Socket({ fd }).
 *   scanSocketInodes(procRoot, wanted) -> { inodes, pids, fds, unreadable }
 *       Socket owners from /proc/PID/fd: see proc-owners.c.
 *
 * Everything here is bounded: the dump grows a buffer until NLMSG_DONE or an
 * error, and reports errno as a JS Error with `code` set.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>
#include "common.h"

/* proc-owners.c */
napi_value ScanSocketInodes(napi_env env, napi_callback_info info);

#define CHECK(call)                                                    \
  do {                                                                 \
    if ((call) != napi_ok) {                                           \
      napi_throw_error(env, NULL, "N-API call failed: " #call);        \
      return NULL;                                                     \
    }                                                                  \
  } while (0)

napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, message, error;
  const char *name = "EUNKNOWN";
  switch (err) {
    case EPERM: name = "EPERM"; break;
    case EACCES: name = "EACCES"; break;
    case EBADF: name = "EBADF"; break;
    case ENOTSOCK: name = "ENOTSOCK"; break;
    case EINVAL: name = "EINVAL"; break;
    case ENOENT: name = "ENOENT"; break;
    case EPROTONOSUPPORT: name = "EPROTONOSUPPORT"; break;
    case EAFNOSUPPORT: name = "EAFNOSUPPORT"; break;
    case ENOMEM: name = "ENOMEM"; break;
    case ENOPROTOOPT: name = "ENOPROTOOPT"; break;
    case ECONNREFUSED: name = "ECONNREFUSED"; break;
    case ENETUNREACH: name = "ENETUNREACH"; break;
    case EMFILE: name = "EMFILE"; break;
    case EBUSY: name = "EBUSY"; break;
    case EAGAIN: name = "EAGAIN"; break;
    default: break;
  }
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_set_named_property(env, error, "code", code);
  napi_throw(env, error);
  return NULL;
}

int get_int_arg(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

/* The first n arguments as int32 (n <= 4); on a missing or non-number one, a TypeError with
   the call's usage and 0. */
static int get_int_args(napi_env env, napi_callback_info info, int32_t *out, size_t n, const char *usage) {
  size_t argc = 4;
  napi_value argv[4];
  if (n > 4 || napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < n) {
    napi_throw_type_error(env, NULL, usage);
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    if (!get_int_arg(env, argv[i], &out[i])) {
      napi_throw_type_error(env, NULL, usage);
      return 0;
    }
  }
  return 1;
}

static napi_value GetTcpInfo(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!get_int_args(env, info, &fd, 1, "getTcpInfo(fd)")) return NULL;
  unsigned char buf[512];
  socklen_t len = sizeof buf;
  memset(buf, 0, sizeof buf);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, buf, &len) < 0) return throw_errno(env, "getsockopt(TCP_INFO)", errno);
  napi_value result;
  void *data;
  CHECK(napi_create_buffer_copy(env, len, buf, &data, &result));
  return result;
}

static napi_value TcpTotalRetrans(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!get_int_args(env, info, &fd, 1, "tcpTotalRetrans(fd)")) return NULL;
  struct tcp_info ti;
  socklen_t len = sizeof ti;
  memset(&ti, 0, sizeof ti);
  double total = -1;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
      len >= offsetof(struct tcp_info, tcpi_total_retrans) + sizeof ti.tcpi_total_retrans) {
    total = ti.tcpi_total_retrans;
  }
  napi_value result;
  CHECK(napi_create_double(env, total, &result));
  return result;
}

static napi_value SetIntSockOpt(napi_env env, napi_callback_info info) {
  int32_t a[4]; /* fd, level, name, value */
  if (!get_int_args(env, info, a, 4, "setIntSockOpt(fd, level, name, value)")) return NULL;
  int32_t value = a[3];
  if (setsockopt(a[0], a[1], a[2], &value, sizeof value) < 0) return throw_errno(env, "setsockopt", errno);
  return NULL;
}

static napi_value GetIntSockOpt(napi_env env, napi_callback_info info) {
  int32_t a[3]; /* fd, level, name */
  if (!get_int_args(env, info, a, 3, "getIntSockOpt(fd, level, name)")) return NULL;
  int32_t value = 0;
  socklen_t len = sizeof value;
  if (getsockopt(a[0], a[1], a[2], &value, &len) < 0) return throw_errno(env, "getsockopt", errno);
  napi_value result;
  CHECK(napi_create_int32(env, value, &result));
  return result;
}

static napi_value ConnectWithMss(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char ip[64];
  size_t ip_len = 0;
  int32_t port, mss;
  if (argc < 3 || napi_get_value_string_utf8(env, argv[0], ip, sizeof ip, &ip_len) != napi_ok ||
      !get_int_arg(env, argv[1], &port) || !get_int_arg(env, argv[2], &mss) || port < 1 || port > 65535) {
    napi_throw_type_error(env, NULL, "connectWithMss(ip, port, mss)");
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t ss_len;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    ss_len = sizeof *v4;
  } else if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    ss_len = sizeof *v6;
  } else {
    napi_throw_type_error(env, NULL, "connectWithMss: ip must be a numeric IPv4 or IPv6 address");
    return NULL;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (mss > 0 && setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "setsockopt(TCP_MAXSEG)", err);
  }
  if (connect(fd, (struct sockaddr *)&ss, ss_len) < 0 && errno != EINPROGRESS) {
    int err = errno;
    close(fd);
    return throw_errno(env, "connect", err);
  }
  napi_value result;
  CHECK(napi_create_int32(env, fd, &result));
  return result;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"sockDiagDump", NULL, SockDiagDump, NULL, NULL, NULL, napi_default, NULL},
    {"openInNetns", NULL, OpenInNetns, NULL, NULL, NULL, napi_default, NULL},
    {"getTcpInfo", NULL, GetTcpInfo, NULL, NULL, NULL, napi_default, NULL},
    {"tcpTotalRetrans", NULL, TcpTotalRetrans, NULL, NULL, NULL, napi_default, NULL},
    {"setIntSockOpt", NULL, SetIntSockOpt, NULL, NULL, NULL, napi_default, NULL},
    {"getIntSockOpt", NULL, GetIntSockOpt, NULL, NULL, NULL, napi_default, NULL},
    {"connectWithMss", NULL, ConnectWithMss, NULL, NULL, NULL, napi_default, NULL},
    {"scanSocketInodes", NULL, ScanSocketInodes, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  tcpdiag_register_nfqueue(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
