/*
 * What the addon's C files share: the errno-to-JS-error helper and argument readers defined in
 * tcpdiag.c, and the functions each other file exports to Init().
 */
#ifndef TCPDIAG_COMMON_H
#define TCPDIAG_COMMON_H
#include <node_api.h>
#include <stdint.h>

/* Throw a JS Error whose `code` is the errno's name (EPERM, ENOENT...); returns NULL. */
napi_value throw_errno(napi_env env, const char *what, int err);
int get_int_arg(napi_env env, napi_value v, int32_t *out);

/* sockdiag.c */
napi_value SockDiagDump(napi_env env, napi_callback_info info);
napi_value OpenInNetns(napi_env env, napi_callback_info info);

/* nfqueue.c: holding packets through NFQUEUE (fault delay), registered by Init(). */
void tcpdiag_register_nfqueue(napi_env env, napi_value exports);

#endif
