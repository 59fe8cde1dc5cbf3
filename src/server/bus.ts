/**
 * The agent's in-process publish/subscribe: collectors publish what happened, the WebSocket
 * stream, the exporters and the escalation subscribe. Synchronous and bounded by design: a
 * subscriber that throws is reported and kept out of the publisher's way, and a subscriber that
 * needs to do I/O queues the message itself (the publisher is a collector tick).
 */
import type { StreamKind, StreamMessage } from '../model/stream.js';

export type Subscriber = (message: StreamMessage) => void;

export class AgentBus {
  private readonly subscribers = new Set<{ readonly kinds: ReadonlySet<StreamKind> | null; readonly fn: Subscriber }>();

  constructor(private readonly onSubscriberError: (error: unknown) => void = () => undefined) {}

  /** Subscribe to some kinds (all when none are named); returns the unsubscribe. */
  subscribe(fn: Subscriber, kinds?: readonly StreamKind[]): () => void {
    const entry = { kinds: kinds === undefined ? null : new Set(kinds), fn };
    this.subscribers.add(entry);
    return () => {
      this.subscribers.delete(entry);
    };
  }

  publish(message: StreamMessage): void {
    for (const s of this.subscribers) {
      if (s.kinds !== null && !s.kinds.has(message.kind)) continue;
      try {
        s.fn(message);
      } catch (error: unknown) {
        this.onSubscriberError(error);
      }
    }
  }

  get size(): number {
    return this.subscribers.size;
  }
}
