/*
 * The reference for bench/loadgen's new-connection rate: C threads (one per "connection")
 * each doing connect -> write one HTTP request (Connection: close) -> read the response -> close,
 * in a loop for a fixed time, with blocking sockets. The same work per connection as
 * `tcpdiag bench --new-connection`, which also says Connection: close (RFC 9112 section 9.6).
 *
 * usage: connect-loop PORT CONNECTIONS SECONDS   prints "connections=N seconds=S rate=R errors=E"
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char REQUEST[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: connect-loop\r\nConnection: close\r\n\r\n";
static int port;
static double deadline;
static atomic_long done, errors;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *loop(void *arg) {
  (void)arg;
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  char buf[4096];
  int one = 1;
  while (now() < deadline) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || write(fd, REQUEST, sizeof REQUEST - 1) < 0) {
      atomic_fetch_add(&errors, 1);
      close(fd);
      continue;
    }
    /* The responder answers with one small response; a read that ends with the body is enough. */
    ssize_t got = 0, r;
    while ((r = read(fd, buf + got, sizeof buf - got)) > 0) {
      got += r;
      if (got >= 13 && memcmp(buf + got - 13, "Hello, world!", 13) == 0) break;
    }
    if (r <= 0) atomic_fetch_add(&errors, 1); else atomic_fetch_add(&done, 1);
    close(fd);
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: %s PORT CONNECTIONS SECONDS\n", argv[0]); return 2; }
  port = atoi(argv[1]);
  int n = atoi(argv[2]);
  double seconds = atof(argv[3]);
  pthread_t *threads = calloc(n, sizeof *threads);
  double start = now();
  deadline = start + seconds;
  for (int i = 0; i < n; i++) pthread_create(&threads[i], NULL, loop, NULL);
  for (int i = 0; i < n; i++) pthread_join(threads[i], NULL);
  double elapsed = now() - start;
  printf("connections=%ld seconds=%.3f rate=%.1f errors=%ld\n", atomic_load(&done), elapsed, atomic_load(&done) / elapsed, atomic_load(&errors));
  return 0;
}
