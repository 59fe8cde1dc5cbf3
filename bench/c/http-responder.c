/*
 * A tiny HTTP/1.1 responder for bench/loadgen: epoll, one thread, keep-alive, answers every
 * request head ("\r\n\r\n") with a fixed 200 and a 13-byte body, so that the server is not
 * what limits the load generators being compared. Not a real server: no request bodies.
 * A request carrying "Connection: close" is answered and then closed by the server (so the
 * server, the active closer, holds the TIME_WAIT, as with any HTTP server).
 *
 * usage: http-responder PORT_FILE   (listens on 127.0.0.1, an ephemeral port, and writes the
 *        port number to PORT_FILE once it accepts connections; exits on SIGTERM)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char RESPONSE[] = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, world!";

struct conn { int fd; int match; };

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: %s PORT_FILE\n", argv[0]); return 2; }
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0 };
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4096) < 0) { perror("bind/listen"); return 1; }
  socklen_t len = sizeof addr;
  getsockname(lfd, (struct sockaddr *)&addr, &len);
  FILE *pf = fopen(argv[1], "w");
  if (!pf) { perror("port file"); return 1; }
  fprintf(pf, "%d\n", ntohs(addr.sin_port));
  fclose(pf);
  int ep = epoll_create1(0);
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  struct epoll_event events[256];
  static char buf[65536];
  static char out[65536];
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    if (n < 0) { if (errno == EINTR) continue; perror("epoll_wait"); return 1; }
    for (int i = 0; i < n; i++) {
      struct conn *c = events[i].data.ptr;
      if (c == NULL) {
        for (;;) {
          int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
          if (fd < 0) break;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct conn *nc = calloc(1, sizeof *nc);
          nc->fd = fd;
          struct epoll_event cev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = nc };
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      int closed = 0;
      for (;;) {
        ssize_t r = read(c->fd, buf, sizeof buf);
        if (r == 0) { closed = 1; break; }
        if (r < 0) { if (errno != EAGAIN) closed = 1; break; }
        /* Count request heads by scanning for CRLFCRLF across reads (state in c->match). */
        size_t outlen = 0;
        for (ssize_t k = 0; k < r; k++) {
          char ch = buf[k];
          int m = c->match;
          if ((m == 0 || m == 2) && ch == '\r') c->match = m + 1;
          else if ((m == 1 || m == 3) && ch == '\n') c->match = m + 1;
          else c->match = (ch == '\r') ? 1 : 0;
          if (c->match == 4) {
            c->match = 0;
            if (outlen + sizeof RESPONSE - 1 <= sizeof out) { memcpy(out + outlen, RESPONSE, sizeof RESPONSE - 1); outlen += sizeof RESPONSE - 1; }
          }
        }
        if (outlen > 0 && write(c->fd, out, outlen) < 0 && errno != EAGAIN) { closed = 1; break; }
        if (outlen > 0 && memmem(buf, r, "Connection: close", 17) != NULL) { closed = 1; break; }
        if ((size_t)r < sizeof buf) break;
      }
      if (closed || (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        close(c->fd);
        free(c);
      }
    }
  }
}
