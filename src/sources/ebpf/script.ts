/**
 * The bpftrace program for `trace --detail`: one probe per tracepoint, each printing one line
 * with a leading tag (S state, R retransmit, A SYN-ACK retransmit, V reset received, X reset
 * sent) that parse.ts reads back. Kernel filters written in tracefs syntax ("sport == 80 &&
 * protocol == 6") become bpftrace predicates over the same fields.
 *
 * Every line starts "TAG nsecs cpu pid irq skaddr family": pid is the task on the CPU (its
 * process), irq whether the event fired in softirq, hardirq or NMI context, where that task is
 * whoever was interrupted (an idle CPU's swapper, or the peer's process on loopback) and not
 * the socket's owner.
 */

export type BpftraceTracepoint = 'inet_sock_set_state' | 'tcp_retransmit_skb' | 'tcp_retransmit_synack' | 'tcp_send_reset' | 'tcp_receive_reset' | 'kfree_skb';

export interface BpftraceProbe {
  readonly name: BpftraceTracepoint;
  /** A filter in tracefs syntax over the tracepoint's own fields, or null. */
  readonly filter: string | null;
}

/** Field names our filters use; anything else in a filter is rejected, never passed through. */
const FILTER_FIELDS = /\b(sport|dport|family|protocol|oldstate|newstate|state)\b/g;
const FILTER_ALLOWED = /^[\sa-z_0-9()=!<>&|]*$/;

export function toPredicate(filter: string | null, netnsInode: number | null = null, tracepoint?: BpftraceTracepoint): string {
  const parts: string[] = [];
  if (filter !== null && filter !== '') {
    if (!FILTER_ALLOWED.test(filter)) throw new Error(`unexpected characters in filter: ${filter}`);
    parts.push(filter.replace(FILTER_FIELDS, 'args->$1'));
  }
  if (netnsInode !== null) {
    if (!Number.isInteger(netnsInode) || netnsInode <= 0) throw new Error(`bad namespace inode ${netnsInode}`);
    parts.push(`${tracepoint === 'tcp_send_reset' ? RESET_NETNS : tracepoint === 'kfree_skb' ? DROP_NETNS : SOCKET_NETNS} == ${netnsInode}`);
  }
  if (parts.length === 0) return '';
  return ` /${parts.length === 1 ? parts[0] : parts.map((p) => `(${p})`).join(' && ')}/`;
}

/**
 * The network namespace of the event: its socket's (sock_net(sk): skc_net, include/net/sock.h;
 * ns.inum is the inode /proc/PID/ns/net shows). tcp_send_reset may have no socket (a reset
 * for a segment that matched none, NO_SOCKET): then the namespace of the device the segment
 * arrived on (dev_net(skb->dev)). The tracepoints carry no namespace field, so this is read
 * through BTF, and the events of other namespaces never leave the kernel.
 */
const SOCKET_NETNS = '((struct sock *)args->skaddr)->__sk_common.skc_net.net->ns.inum';
const RESET_NETNS = `(args->skaddr != 0 ? ${SOCKET_NETNS} : ((struct sk_buff *)args->skbaddr)->dev->nd_net.net->ns.inum)`;
/**
 * kfree_skb has no skaddr: the receiving socket (rx_sk), else the skb's own socket (a socket's
 * queues), else the device the packet is on (a packet that found no socket).
 */
const SKB_DEV_NETNS = '((struct sk_buff *)args->skbaddr)->dev->nd_net.net->ns.inum';
const SKB_SK_NETNS = '((struct sk_buff *)args->skbaddr)->sk->__sk_common.skc_net.net->ns.inum';
const DROP_NETNS = `(args->rx_sk != 0 ? ((struct sock *)args->rx_sk)->__sk_common.skc_net.net->ns.inum : (((struct sk_buff *)args->skbaddr)->sk != 0 ? ${SKB_SK_NETNS} : ${SKB_DEV_NETNS}))`;

/** What this kernel lets the script read beyond the tracepoints' common fields. */
export interface ScriptFeatures {
  /**
   * A bpftrace expression that is non-zero when the probe runs in interrupt context, or null
   * when this kernel gives no way to tell (the flag is then always 0). bpftrace cannot read the
   * tracepoint's common_flags: for BPF the kernel overwrites them with a pt_regs pointer
   * (perf_trace_run_bpf_submit, kernel/events/core.c).
   */
  readonly interruptExpression: string | null;
  /** tcp_retransmit_skb has the `err` field (its format says; 6.18 here does). */
  readonly retransmitErr: boolean;
}

export const NO_FEATURES: ScriptFeatures = { interruptExpression: null, retransmitErr: false };

/**
 * preempt_count's interrupt bits (include/linux/preempt.h): SOFTIRQ_OFFSET 0x100 (serving a
 * softirq; the rest of SOFTIRQ_MASK counts local_bh_disable), HARDIRQ_MASK 0xf0000, NMI_MASK
 * 0xf00000. ftrace's TRACE_FLAG_SOFTIRQ tests the same bit (tracing_gen_ctx_irq_test).
 */
const INTERRUPT_BITS = '0xff0100';

/**
 * On x86-64 the preempt count is the per-CPU variable __preempt_count. The current task's run
 * queue (task->se.cfs_rq->rq, CONFIG_FAIR_GROUP_SCHED) is this CPU's instance of the per-CPU
 * variable runqueues, so their offsets in the per-CPU section (from BTF) turn one into the
 * other. Null when either is unknown.
 */
export function x86InterruptExpression(offsets: ReadonlyMap<string, number>): string | null {
  const rq = offsets.get('runqueues');
  const pc = offsets.get('__preempt_count');
  if (rq === undefined || pc === undefined) return null;
  return `(*(uint32 *)((uint64)curtask->se.cfs_rq->rq - ${rq} + ${pc}) & ${INTERRUPT_BITS})`;
}

const TUPLE = 'ntop(2, args->saddr), ntop(10, args->saddr_v6), args->sport, ntop(2, args->daddr), ntop(10, args->daddr_v6), args->dport';
const TUPLE_FMT = '%s %s %d %s %s %d';

/** "TAG nsecs cpu pid irq skaddr": the head of every line (see the file comment). */
const HEAD_FMT = '%llu %d %d %d %llx';
function head(features: ScriptFeatures, skaddr = '(uint64)args->skaddr'): string {
  return `nsecs, cpu, pid, ${features.interruptExpression === null ? '0' : `${features.interruptExpression} ? 1 : 0`}, ${skaddr}`;
}

/**
 * skb:kfree_skb gives the skb, the drop reason, the receiving socket (rx_sk, 6.9+) and the
 * ethertype (protocol, host order), but no addresses: they are read from the packet's IP and
 * TCP headers (skb->head + network_header), or, for an skb that has no IP header yet (a
 * socket's own queues), from its socket. Only TCP is printed: IPv4 protocol 6, IPv6 next
 * header 6 (a packet with extension headers before TCP is not recognised). "out" (1) when the
 * socket's own port is the packet's source port. Line after the head: family reason state out
 * saddr sport daddr dport flags (-1: no header) location comm.
 */
function dropBody(f: ScriptFeatures): string {
  const h = head(f, '(uint64)$sk');
  return `{
  $skb = (struct sk_buff *)args->skbaddr;
  $sk = (struct sock *)args->rx_sk;
  if ($sk == 0) { $sk = $skb->sk; }
  $net = (uint64)$skb->head + $skb->network_header;
  $state = $sk != 0 ? $sk->__sk_common.skc_state : 0;
  $num = $sk != 0 ? $sk->__sk_common.skc_num : 0;
  if (args->protocol == 0x0800) {
    $vihl = *(uint8 *)$net;
    if ($vihl >> 4 == 4 && *(uint8 *)($net + 9) == 6) {
      $th = $net + ($vihl & 0xf) * 4;
      $sport = bswap(*(uint16 *)$th);
      $dport = bswap(*(uint16 *)($th + 2));
      printf("D ${HEAD_FMT} 2 %d %d %d %s %d %s %d %d %s %s\\n", ${h}, args->reason, $state, $num == $sport ? 1 : 0,
        ntop(2, *(uint32 *)($net + 12)), $sport, ntop(2, *(uint32 *)($net + 16)), $dport, *(uint8 *)($th + 13), ksym(args->location), comm);
    }
  } else if (args->protocol == 0x86DD) {
    $ip6 = (struct ipv6hdr *)$net;
    if ($ip6->nexthdr == 6) {
      $th = $net + 40;
      $sport = bswap(*(uint16 *)$th);
      $dport = bswap(*(uint16 *)($th + 2));
      printf("D ${HEAD_FMT} 10 %d %d %d %s %d %s %d %d %s %s\\n", ${h}, args->reason, $state, $num == $sport ? 1 : 0,
        ntop(10, $ip6->saddr.in6_u.u6_addr8), $sport, ntop(10, $ip6->daddr.in6_u.u6_addr8), $dport, *(uint8 *)($th + 13), ksym(args->location), comm);
    }
  } else if ($sk != 0 && $sk->sk_protocol == 6) {
    if ($sk->__sk_common.skc_family == 10) {
      printf("D ${HEAD_FMT} 10 %d %d 1 %s %d %s %d -1 %s %s\\n", ${h}, args->reason, $state,
        ntop(10, $sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8), $num, ntop(10, $sk->__sk_common.skc_v6_daddr.in6_u.u6_addr8), bswap($sk->__sk_common.skc_dport), ksym(args->location), comm);
    } else {
      printf("D ${HEAD_FMT} 2 %d %d 1 %s %d %s %d -1 %s %s\\n", ${h}, args->reason, $state,
        ntop(2, $sk->__sk_common.skc_rcv_saddr), $num, ntop(2, $sk->__sk_common.skc_daddr), bswap($sk->__sk_common.skc_dport), ksym(args->location), comm);
    }
  }
}`;
}

function body(name: BpftraceTracepoint, f: ScriptFeatures): string {
  const h = head(f);
  switch (name) {
    case 'kfree_skb':
      return dropBody(f);
    // tcp_sock and sock fields at the moment of the transition (include/linux/tcp.h, net/sock.h).
    case 'inet_sock_set_state':
      return `{
  $tp = (struct tcp_sock *)args->skaddr;
  $sk = (struct sock *)args->skaddr;
  printf("S ${HEAD_FMT} %d %d %d ${TUPLE_FMT} %u %u %u %llu %llu %llu %u %u %u %u %s\\n", ${h}, args->family,
    args->oldstate, args->newstate, ${TUPLE},
    $tp->snd_cwnd, $tp->rcv_wnd, $tp->snd_wnd, $tp->bytes_sent, $tp->bytes_received, $tp->bytes_acked,
    $sk->sk_ack_backlog, $sk->sk_max_ack_backlog, $tp->total_retrans, $tp->srtt_us >> 3, comm);
}`;
    // The skb's segment count (skb_shinfo(skb)->gso_segs, set from tcp_skb_pcount by
    // __tcp_transmit_skb): RetransSegs adds segments, the tracepoint fires once per skb.
    case 'tcp_retransmit_skb':
      return `{
  $skb = (struct sk_buff *)args->skbaddr;
  $segs = ((struct skb_shared_info *)($skb->head + $skb->end))->gso_segs;
  printf("R ${HEAD_FMT} %d %d %d ${TUPLE_FMT} %d %u %s\\n", ${h}, args->family, args->state, args->state, ${TUPLE}, ${f.retransmitErr ? 'args->err' : '0'}, $segs, comm);
}`;
    case 'tcp_retransmit_synack':
      return `{
  printf("A ${HEAD_FMT} %d 0 0 ${TUPLE_FMT} %s\\n", ${h}, args->family, ${TUPLE}, comm);
}`;
    case 'tcp_receive_reset':
      return `{
  printf("V ${HEAD_FMT} %d 0 0 ${TUPLE_FMT} %s\\n", ${h}, args->family, ${TUPLE}, comm);
}`;
    // saddr/daddr are struct sockaddr_in or sockaddr_in6 bytes; the port is big endian.
    case 'tcp_send_reset':
      return `{
  $s4 = (struct sockaddr_in *)args->saddr; $s6 = (struct sockaddr_in6 *)args->saddr;
  $d4 = (struct sockaddr_in *)args->daddr; $d6 = (struct sockaddr_in6 *)args->daddr;
  printf("X ${HEAD_FMT} %d %d %d %s %s %d %s %s %d %d %s\\n", ${h}, $s4->sin_family == 10 ? 10 : 2, args->state, args->state,
    ntop(2, $s4->sin_addr.s_addr), ntop(10, $s6->sin6_addr.in6_u.u6_addr8), (args->saddr[2] << 8) | args->saddr[3],
    ntop(2, $d4->sin_addr.s_addr), ntop(10, $d6->sin6_addr.in6_u.u6_addr8), (args->daddr[2] << 8) | args->daddr[3], args->reason, comm);
}`;
  }
}

const SYSTEMS: Record<BpftraceTracepoint, string> = {
  inet_sock_set_state: 'sock',
  tcp_retransmit_skb: 'tcp',
  tcp_retransmit_synack: 'tcp',
  tcp_send_reset: 'tcp',
  tcp_receive_reset: 'tcp',
  kfree_skb: 'skb',
};

/** Printed by BEGIN, which runs once every probe is attached ("Attaching N probes" comes before). */
export const READY_LINE = 'tcpdiag-bpftrace-ready';

/** `netnsInode`: only the events of that network namespace. */
export function buildBpftraceScript(probes: readonly BpftraceProbe[], features: ScriptFeatures = NO_FEATURES, netnsInode: number | null = null): string {
  return `BEGIN { printf("${READY_LINE}\\n"); }\n` + probes.map((p) => `tracepoint:${SYSTEMS[p.name]}:${p.name}${toPredicate(p.filter, netnsInode, p.name)}\n${body(p.name, features)}\n`).join('\n');
}
