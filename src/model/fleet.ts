/**
 * What the fleet view answers (GET /api/v1/fleet/hosts, /api/v1/fleet/events; tcpdiag fleet
 * --json): platform-neutral, the dashboard reads these types.
 */
export interface FleetHost {
  readonly host: string;
  /** ok, degraded (P2/P3 alerts firing), down (a P1 firing), stale (no sample within the lookback). */
  readonly health: 'ok' | 'degraded' | 'down' | 'stale';
  /** The last diagnosis's score (0-100); null before the agent's first diagnosis. */
  readonly score: number | null;
  readonly firing: Readonly<Record<string, number>>;
  readonly lastSampleAt: string | null;
  readonly established: number | null;
  readonly retransmitsPerS: number | null;
  readonly listenOverflowsPerS: number | null;
  readonly backlogItems: number | null;
  readonly droppedTotal: number | null;
}

export interface HostTally {
  readonly host: string;
  /** Events counted (a rollup row counts its `count`). */
  readonly events: number;
  readonly rows: number;
  readonly first: string;
  readonly last: string;
  readonly kinds: readonly string[];
  readonly processes: readonly string[];
}

export interface PeerTally {
  readonly peer: string;
  readonly events: number;
  /** Events with this peer per host, most first. */
  readonly hosts: readonly { readonly host: string; readonly events: number }[];
  readonly last: string;
}
