/*
 * A paced storm of new loopback connections for bench/agent-storm: one thread that opens,
 * accepts and closes connections (client first) at RATE per second for SECONDS, bounded in both,
 * on its own listener. Pacing is by the monotonic clock: connection i starts no earlier than
 * i / RATE seconds after the start, so a slow moment is caught up on, never exceeded.
 *
 * usage: storm ADDR PORT RATE SECONDS   prints "ready", waits for a line on stdin, then
 * {"connections":N,"seconds":S,"perSecond":R,"errors":E}
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 5) return 2;
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) return 2;
  double rate = atof(argv[3]), seconds = atof(argv[4]);
  if (rate <= 0 || rate > 100000 || seconds <= 0 || seconds > 600) return 2;
  int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 4096)) { perror("listen"); return 1; }
  printf("ready\n");
  fflush(stdout);
  char line[16];
  if (!fgets(line, sizeof line, stdin)) return 1;
  double t0 = now(), end = t0 + seconds;
  long ok = 0, errors = 0, i = 0;
  for (;;) {
    double due = t0 + i / rate, t = now();
    if (due >= end || t >= end + 1) break;
    if (due > t) {
      struct timespec ts = { 0, (long)((due - t) * 1e9) };
      nanosleep(&ts, NULL);
    }
    i++;
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&a, sizeof a)) { errors++; close(c); continue; }
    int s = accept(l, NULL, NULL);
    close(c);
    if (s >= 0) close(s);
    ok++;
  }
  double secs = now() - t0;
  printf("{\"connections\":%ld,\"seconds\":%.6f,\"perSecond\":%.1f,\"errors\":%ld}\n", ok, secs, ok / secs, errors);
  close(l);
  return 0;
}
