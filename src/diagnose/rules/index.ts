/**
 * Every diagnosis rule, in the order the report's `checked` list shows them: connection
 * lifecycle, handshakes, listeners, the data path, resources, attacks, then the sysctls that
 * contradict what was observed. Add a rule: a file beside this one, one entry here.
 */
import type { Rule } from '../rule.js';
import { timeWaitBacklog } from './time-wait-backlog.js';
import { closeWaitLeak } from './close-wait-leak.js';
import { finWait2Lingering } from './fin-wait2-lingering.js';
import { synSentUnanswered } from './syn-sent-unanswered.js';
import { connRefused } from './conn-refused.js';
import { synFlood } from './syn-flood.js';
import { listenOverflow } from './listen-overflow.js';
import { retransmissionHigh } from './retransmission-high.js';
import { rttHigh } from './rtt-high.js';
import { zeroWindow } from './zero-window.js';
import { smallWindow } from './small-window.js';
import { keepalive } from './keepalive.js';
import { portExhaustion } from './port-exhaustion.js';
import { fdExhaustion } from './fd-exhaustion.js';
import { resetStorm } from './reset-storm.js';
import { slowConnectionAttack } from './slow-connection-attack.js';
import { orphanSockets } from './orphan-sockets.js';
import { tcpMemoryPressure } from './tcp-memory-pressure.js';
import { mtuBlackhole } from './mtu-blackhole.js';
import { sysctlSomaxconn } from './sysctl-somaxconn.js';
import { sysctlTcpSyncookies } from './sysctl-tcp-syncookies.js';
import { sysctlIpLocalPortRange } from './sysctl-ip-local-port-range.js';
import { sysctlTcpMtuProbing } from './sysctl-tcp-mtu-probing.js';
import { sysctlTcpTwReuse } from './sysctl-tcp-tw-reuse.js';

export const RULES: readonly Rule[] = [
  timeWaitBacklog,
  closeWaitLeak,
  finWait2Lingering,
  synSentUnanswered,
  connRefused,
  synFlood,
  listenOverflow,
  retransmissionHigh,
  rttHigh,
  zeroWindow,
  smallWindow,
  keepalive,
  portExhaustion,
  fdExhaustion,
  resetStorm,
  slowConnectionAttack,
  orphanSockets,
  tcpMemoryPressure,
  mtuBlackhole,
  sysctlSomaxconn,
  sysctlTcpSyncookies,
  sysctlIpLocalPortRange,
  sysctlTcpMtuProbing,
  sysctlTcpTwReuse,
];
