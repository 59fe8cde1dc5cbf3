{
  "targets": [
    {
      "target_name": "tcpdiag",
      "sources": ["tcpdiag.c", "sockdiag.c", "proc-owners.c", "nfqueue.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11", "-pthread"],
      "ldflags": ["-pthread"]
    }
  ]
}
