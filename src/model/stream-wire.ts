/**
 * What the WebSocket at /api/v1/stream adds around the bus's messages (model/stream.ts): a
 * greeting that says what this connection is subscribed to, and a notice when the agent dropped
 * messages for a client that read too slowly. The client asks for kinds with a subscribe
 * request. Platform-neutral: the dashboard imports these types.
 */
import type { StreamKind, StreamMessage } from './stream.js';

/** The subprotocol every client offers; the agent answers with it. */
export const STREAM_PROTOCOL = 'tcpdiag.v1';
/**
 * Browsers cannot set an Authorization header on a WebSocket, so a browser offers its bearer
 * token as a second subprotocol `tcpdiag.token.TOKEN` (base64url fits the RFC 6455 token
 * grammar). Unlike a `?token=` query, it is not written into access logs or the history.
 */
export const TOKEN_PROTOCOL_PREFIX = 'tcpdiag.token.';

export interface StreamHello {
  readonly kind: 'hello';
  readonly atMs: number;
  /** The kinds this connection receives now. */
  readonly kinds: readonly StreamKind[];
  /** At most this many messages wait for a slow client; beyond it the oldest are dropped. */
  readonly queueLimit: number;
}

/** Messages were dropped (the oldest first) because the client did not read fast enough. */
export interface StreamDropped {
  readonly kind: 'dropped';
  readonly atMs: number;
  /** Dropped since the previous notice. */
  readonly count: number;
  /** Dropped on this connection since it opened. */
  readonly total: number;
}

export type StreamFrame = StreamMessage | StreamHello | StreamDropped;

/** What a client sends: the kinds it wants (none named: all). */
export interface StreamSubscribe {
  readonly subscribe: readonly StreamKind[];
}
