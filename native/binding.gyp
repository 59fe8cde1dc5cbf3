{
  "targets": [
    {
      "target_name": "tcpdiag",
      "sources": ["tcpdiag.c", "sockdiag.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"]
    }
  ]
}
