/** The source contract against the sockdiag backend (NETLINK_SOCK_DIAG through the native addon). */
import { backendStatus, counterSource, listenerSource, socketSource } from '../../src/sources/index.js';
import { snapshotConformance } from './source.case.js';

const choice = { backend: 'sockdiag' } as const;
const status = backendStatus().find((b) => b.backend === 'sockdiag')!;

snapshotConformance({
  backend: 'sockdiag',
  unavailable: status.available ? undefined : `sockdiag unavailable here: ${status.issues.map((i) => i.message).join('; ')}`,
  unsupported: {},
  sockets: () => socketSource(choice),
  listeners: () => listenerSource(choice),
  counters: () => counterSource(choice),
});
