/**
 * The page's live state: the WebSocket stream (reconnecting by itself, with backoff) and what
 * it has said since the page opened, bounded: the last LIVE_SAMPLES samples, the last
 * MAX_EVENTS events, the firing alerts. Pages subscribe and re-render what they show.
 */
import type { AlertTransition } from '../../src/model/alert.js';
import type { Finding } from '../../src/model/finding.js';
import type { ListenerSummary } from '../../src/model/listener.js';
import type { KernelEventMessage, RecordingMessage, SampleMessage, StreamMessage } from '../../src/model/stream.js';
import { STREAM_PROTOCOL, TOKEN_PROTOCOL_PREFIX } from '../../src/model/stream-wire.js';
import type { StreamFrame } from '../../src/model/stream-wire.js';
import { get, token } from './api.js';

export type Status = 'connecting' | 'live' | 'reconnecting' | 'unreachable' | 'unauthorized';

/** 15 minutes of 1 s samples. */
export const LIVE_SAMPLES = 900;
export const MAX_EVENTS = 5000;

export interface Received {
  readonly kind: string;
  /** The bus message's own timestamp (the agent's clock). */
  readonly atMs: number;
  /** When this page received it (the same host's clock: the agent is local). */
  readonly receivedMs: number;
}

class LiveState {
  status: Status = 'connecting';
  samples: SampleMessage[] = [];
  listeners: readonly ListenerSummary[] = [];
  listenersAtMs: number | null = null;
  /** Per listener (address:port): its accept queue and SYN_RECV at each listeners message since the page opened. */
  listenerHistory = new Map<string, { t: number[]; accept: number[]; synRecv: number[] }>();
  firing = new Map<string, AlertTransition>();
  alertLog: AlertTransition[] = [];
  findings: readonly Finding[] = [];
  findingsAtMs: number | null = null;
  events: (KernelEventMessage | RecordingMessage)[] = [];
  dropped = 0;
  lastReceived: Received | null = null;
  /** The last 200 receipts, for the end-to-end test's latency measure. */
  received: Received[] = [];
  private readonly subscribers = new Set<(m: StreamMessage | null) => void>();
  private ws: WebSocket | null = null;
  private attempt = 0;
  private timer: number | undefined;

  subscribe(fn: (m: StreamMessage | null) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  private emit(m: StreamMessage | null): void {
    for (const fn of this.subscribers) fn(m);
  }

  setStatus(s: Status): void {
    if (this.status === s) return;
    this.status = s;
    this.emit(null);
  }

  async start(): Promise<void> {
    await this.prime();
    this.connect();
  }

  /** What the stream does not repeat: the firing alerts and the latest findings and listeners. */
  async prime(): Promise<void> {
    try {
      const [alerts, findings, listeners] = await Promise.all([
        get<{ firing: AlertTransition[] }>('/api/v1/alerts'),
        get<{ latest: { atMs: number | null; findings: Finding[] } }>('/api/v1/findings'),
        get<{ listeners: ListenerSummary[] }>('/api/v1/listeners'),
      ]);
      this.firing.clear();
      for (const a of alerts?.firing ?? []) this.firing.set(alertKey(a), a);
      if (findings !== null) {
        this.findings = findings.latest.findings;
        this.findingsAtMs = findings.latest.atMs;
      }
      if (listeners !== null) this.listeners = listeners.listeners;
      this.emit(null);
    } catch (error: unknown) {
      const status = (error as { status?: number }).status;
      this.setStatus(status === 401 ? 'unauthorized' : 'unreachable');
    }
  }

  connect(): void {
    window.clearTimeout(this.timer);
    this.ws?.close();
    const tok = token();
    const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/api/v1/stream`;
    const ws = new WebSocket(url, tok === null ? [STREAM_PROTOCOL] : [STREAM_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${tok}`]);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      this.setStatus('live');
      // Whatever changed while the stream was down.
      if (this.samples.length > 0) void this.prime();
    };
    ws.onmessage = (e: MessageEvent<string>) => this.onFrame(JSON.parse(e.data) as StreamFrame);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.attempt += 1;
      // A refused upgrade shows no status in the browser: ask the HTTP API why.
      if (!opened) {
        get('/api/health').then(() => this.setStatus('reconnecting'), (error: unknown) => this.setStatus((error as { status?: number }).status === 401 ? 'unauthorized' : 'unreachable'));
      } else this.setStatus('reconnecting');
      const delay = Math.min(10_000, 250 * 2 ** Math.min(this.attempt, 6));
      this.timer = window.setTimeout(() => this.connect(), delay);
    };
  }

  private onFrame(frame: StreamFrame): void {
    const receivedMs = performance.timeOrigin + performance.now();
    if (frame.kind === 'hello') return;
    if (frame.kind === 'dropped') {
      this.dropped = frame.total;
      this.emit(null);
      return;
    }
    const r: Received = { kind: frame.kind, atMs: frame.atMs, receivedMs };
    this.lastReceived = r;
    this.received.push(r);
    if (this.received.length > 200) this.received.splice(0, this.received.length - 200);
    switch (frame.kind) {
      case 'sample':
        this.samples.push(frame);
        if (this.samples.length > LIVE_SAMPLES) this.samples.splice(0, this.samples.length - LIVE_SAMPLES);
        break;
      case 'listeners':
        this.listeners = frame.listeners;
        this.listenersAtMs = frame.atMs;
        for (const l of frame.listeners) {
          const key = listenerKey(l);
          let h = this.listenerHistory.get(key);
          if (h === undefined) {
            h = { t: [], accept: [], synRecv: [] };
            this.listenerHistory.set(key, h);
          }
          h.t.push(frame.atMs / 1000);
          h.accept.push(l.acceptQueue);
          h.synRecv.push(l.synRecv);
          if (h.t.length > LIVE_SAMPLES) for (const a of [h.t, h.accept, h.synRecv]) a.shift();
        }
        break;
      case 'alert': {
        const a = frame.transition;
        if (a.status === 'firing') this.firing.set(alertKey(a), a);
        else this.firing.delete(alertKey(a));
        if (!a.repeat) this.alertLog.unshift(a);
        break;
      }
      case 'findings':
        this.findings = frame.findings;
        this.findingsAtMs = frame.atMs;
        break;
      case 'event':
      case 'recording':
        this.events.push(frame);
        if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
        break;
    }
    this.emit(frame);
  }
}

export function alertKey(a: AlertTransition): string {
  return `${a.rule}\u0000${a.scope ?? ''}`;
}

export function listenerKey(l: ListenerSummary): string {
  return l.family === 6 ? `[${l.local.address}]:${l.local.port}` : `${l.local.address}:${l.local.port}`;
}

export const live = new LiveState();
// The end-to-end test reads what arrived and when (latency of the stream to the page).
(window as unknown as { __tcpdiag: unknown }).__tcpdiag = live;
