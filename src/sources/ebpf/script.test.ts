import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_FEATURES, buildBpftraceScript, toPredicate } from './script.js';

test('tracefs filters become bpftrace predicates over the same fields, family included', () => {
  assert.equal(toPredicate('family == 10 && !(sport <= 80 || dport > 65000)'), ' /args->family == 10 && !(args->sport <= 80 || args->dport > 65000)/');
  assert.equal(toPredicate(null), '');
  assert.throws(() => toPredicate('sport == 80; system("x")'), /unexpected characters/);
});

test('a namespace is tested on the socket, or for a reset without one on the device it came in on', () => {
  assert.equal(toPredicate('sport == 80', 4026532000, 'inet_sock_set_state'), ' /(args->sport == 80) && (((struct sock *)args->skaddr)->__sk_common.skc_net.net->ns.inum == 4026532000)/');
  assert.match(toPredicate(null, 4026532000, 'tcp_send_reset'), /args->skaddr != 0 \? .* : \(\(struct sk_buff \*\)args->skbaddr\)->dev->nd_net\.net->ns\.inum\) == 4026532000\/$/);
  assert.throws(() => toPredicate(null, -1, 'tcp_receive_reset'), /bad namespace inode/);
  const script = buildBpftraceScript([{ name: 'tcp_retransmit_skb', filter: null }], NO_FEATURES, 4026532001);
  assert.match(script, /tracepoint:tcp:tcp_retransmit_skb \/.*ns\.inum == 4026532001\//);
});
