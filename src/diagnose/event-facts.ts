/**
 * Kernel TCP events of a window reduced to ConnectionEvents: counts per destination, peer,
 * reason and process, never the events themselves (a flood brings 10^5 a second). Pure and
 * incremental: the diagnose session feeds it every event the tracker produces; the alerts
 * engine can feed it per tick. Keys are capped so a flood from random sources stays bounded.
 */
import type { TraceEvent } from '../analysis/trace/events.js';
import type { ConnectFailureGroup, ConnectionEvents, ResetGroup, RetransmitGroup } from '../model/facts.js';

/** Distinct groups kept per kind; beyond it, events are counted under `other`. */
const MAX_GROUPS = 5000;
const OTHER = '(other)';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class ConnectionEventAggregator {
  private lost = 0;
  private connects = 0;
  private accepts = 0;
  private readonly failures = new Map<string, Mutable<ConnectFailureGroup>>();
  private readonly retransmits = new Map<string, Mutable<RetransmitGroup>>();
  private readonly resets = new Map<string, Mutable<ResetGroup>>();

  add(event: TraceEvent): void {
    switch (event.type) {
      case 'connect':
        this.connects++;
        return;
      case 'accept':
        this.accepts++;
        return;
      case 'lost':
        this.lost += event.count ?? 0;
        return;
      case 'connect-failed': {
        if (event.remote === null) return;
        const key = `${event.family}|${event.remote.address}|${event.remote.port}|${event.reason}|${event.pid ?? ''}`;
        const group = bounded(this.failures, key, () => ({
          family: event.family ?? 4,
          remote: event.remote!,
          reason: event.reason,
          owner: event.pid === null ? null : { pid: event.pid, process: event.process ?? '?' },
          count: 0,
          synRetransmits: 0,
        }));
        group.count++;
        group.synRetransmits += event.synRetransmits;
        return;
      }
      case 'retransmit': {
        const remoteAddress = event.remote?.address ?? '';
        const localPort = event.local?.port ?? 0;
        const group = bounded(this.retransmits, `${event.kind}|${event.family}|${remoteAddress}|${localPort}`, () => ({
          kind: event.kind, family: event.family ?? 4, remoteAddress, localPort, count: 0,
        }), (g) => ({ ...g, remoteAddress: OTHER, localPort: 0 }));
        group.count++;
        return;
      }
      case 'reset': {
        const remoteAddress = event.remote?.address ?? '';
        const localPort = event.local?.port ?? 0;
        const key = `${event.direction}|${event.reason ?? ''}|${event.family}|${remoteAddress}|${localPort}|${event.state ?? ''}`;
        const group = bounded(this.resets, key, () => ({
          direction: event.direction, reason: event.reason, family: event.family ?? 4, remoteAddress, localPort, state: event.state, count: 0,
        }), (g) => ({ ...g, remoteAddress: OTHER, localPort: 0 }));
        group.count++;
        return;
      }
      default:
        return;
    }
  }

  result(): ConnectionEvents {
    return {
      source: 'trace',
      lost: this.lost,
      connects: this.connects,
      accepts: this.accepts,
      connectFailures: [...this.failures.values()],
      retransmits: [...this.retransmits.values()],
      resets: [...this.resets.values()],
      icmpErrors: [],
    };
  }
}

/** The group for `key`, created when there is room, else the shared overflow group of its kind. */
function bounded<G>(map: Map<string, G>, key: string, create: () => G, overflow?: (g: G) => G): G {
  const found = map.get(key);
  if (found !== undefined) return found;
  if (map.size < MAX_GROUPS || overflow === undefined) {
    const group = create();
    map.set(key, group);
    return group;
  }
  const other = map.get(OTHER);
  if (other !== undefined) return other;
  const group = overflow(create());
  map.set(OTHER, group);
  return group;
}
