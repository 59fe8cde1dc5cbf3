{
  "targets": [
    {
      "target_name": "tcpdiag",
      "sources": ["tcpdiag.c", "sockdiag.c", "nfqueue.c"],
      "libraries": ["-lpthread"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"]
    }
  ]
}
