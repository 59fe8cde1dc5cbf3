/**
 * GET /api/v1/map: the service map of this host over a window ending now (model/service-map.ts).
 * The socket table is read fresh with owners, off the main thread (the periodic one has no
 * owners: the /proc walk costs more than the dump), the listeners are the agent's, and the
 * problems are the event store's abnormal events of the window.
 */
import * as z from 'zod/mini';
import { UsageError } from '../errors.js';
import { parseDurationMs } from '../model/units.js';
import { buildServiceMap } from '../analysis/service-map.js';
import { socketSource } from '../sources/index.js';
import type { ApiContext, Query } from './api.js';
import { one, param } from './api.js';

/** From 10 s (two socket samples) to the events' 7 days of retention by default. */
const WINDOW = { minMs: 10_000, maxMs: 7 * 86_400_000 } as const;
const DEFAULT_WINDOW_MS = 15 * 60_000;
/**
 * Events read at most per request (the newest): the page asks every few seconds, and a reset
 * storm can store events.max_stored_per_s for hours. Past it the map says its problem counts
 * are a part (`eventsLimited`); /api/v1/rollups has the sums.
 */
const MAX_EVENTS = 20_000;

function windowOf(q: Query): number {
  const text = one(q, 'window');
  if (text === undefined) return DEFAULT_WINDOW_MS;
  try {
    return parseDurationMs(text, WINDOW);
  } catch (error: unknown) {
    throw new UsageError(`query parameter window: ${error instanceof Error ? error.message : String(error)}`, 'give a duration from 10s to 168h: window=30s, 15m, 1h, 24h');
  }
}

async function serviceMap(context: ApiContext, q: Query): Promise<unknown> {
  const windowMs = windowOf(q);
  const top = param(q, 'top', z.string().check(z.regex(/^\d{1,3}$/, 'expected 1-500'), z.refine((t) => Number(t) >= 1 && Number(t) <= 500, 'expected 1-500')));
  const toMs = Date.now();
  const fromMs = toMs - windowMs;
  const snap = await socketSource({ offThread: true }).collect(context.signal, { filter: {}, withInfo: false, withOwners: true });
  const status = context.agent.eventStatus();
  const events = context.agent.eventStore.events({ fromMs, toMs, kinds: ['connect-failed', 'reset', 'retransmit'], limit: MAX_EVENTS + 1, newestFirst: true });
  const eventsLimited = events.length > MAX_EVENTS;
  return {
    windowMs,
    eventsLimited,
    ...buildServiceMap({
      fromMs,
      toMs,
      takenAtMs: snap.takenAtMs,
      sockets: snap.data,
      listeners: context.agent.listeners ?? [],
      events: eventsLimited ? events.slice(0, MAX_EVENTS) : events,
      topPeers: top === undefined ? 20 : Number(top),
      eventStatus: { running: status.running, reason: status.reason, hint: status.hint },
    }),
  };
}

export const MAP_PARAMETERS: Readonly<Record<string, string>> = {
  '/api/v1/map': 'window (a duration ending now, 10s-168h; 15m by default), top (peers kept per direction before "other", 1-500; 20 by default)',
};

export const MAP_ROUTES = {
  '/api/v1/map': { method: 'GET', handler: serviceMap },
} as const;
