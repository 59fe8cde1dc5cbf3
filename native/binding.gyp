{
  "targets": [
    {
      "target_name": "tcpdiag",
      "sources": ["tcpdiag.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"]
    }
  ]
}
