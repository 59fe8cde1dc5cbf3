/**
 * The API of the agent's recordings: list them, start a capture or a trace (actions that are
 * off unless agent.actions enables them), stop one, download its file (streamed), read its
 * analysis (stored once, the JSON of `tcpdiag analyze --json`), and analyse an uploaded capture
 * (its size capped by escalation.upload_max_mb, streamed to a temporary file and read a chunk
 * at a time, one upload at a time). Bodies are validated with zod/mini; a refusal names the field.
 */
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import * as z from 'zod/mini';
import { MalformedInputError, TcpdiagError, UsageError } from '../errors.js';
import type { ConnFilter } from '../model/conn-filter.js';
import { filterFromFlags } from '../model/filter-flags.js';
import type { Recording, RecordingKind, RecordingStatus } from '../model/recording.js';
import { SNAPLEN } from '../model/limits.js';
import { analyzeCapture } from '../sessions/capture-file.js';
import type { ApiContext, Query, Route } from './api.js';
import { limitOf, one, param, timeOf } from './api.js';
import { ANALYSIS_OPTIONS } from './recorder.js';
import type { Recordings } from './recordings.js';
import { FileReply, TextReply } from './reply.js';

/** Longest a capture or trace may be asked to run (a day), and its largest size cap. */
const MAX_DURATION_S = 86_400;
const MAX_MB = 100_000;

const startSchema = z.strictObject({
  /** A pcap-filter(7) expression (captures only), passed to tcpdump as arguments. */
  filter: z.optional(z.string().check(z.maxLength(1024))),
  /** ss's filter expression (`dport = :443 and dst 10.0.0.0/8`), as the CLI's. */
  expr: z.optional(z.string().check(z.maxLength(4096))),
  port: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(65535))),
  duration_s: z.optional(z.number().check(z.minimum(0.1), z.maximum(MAX_DURATION_S))),
  max_mb: z.optional(z.number().check(z.minimum(0.01), z.maximum(MAX_MB))),
  interface: z.optional(z.string().check(z.regex(/^[A-Za-z0-9_.:@-]{1,32}$/, 'expected an interface name (ip -br link)'))),
  snaplen: z.optional(z.number().check(z.int(), z.minimum(SNAPLEN.min), z.maximum(SNAPLEN.max))),
  detail: z.optional(z.boolean()),
  reason: z.optional(z.string().check(z.maxLength(200))),
});
type StartBody = z.infer<typeof startSchema>;

function service(context: ApiContext): Recordings {
  if (context.recordings === undefined) throw new TcpdiagError('TCPDIAG_SOURCE_FAILED', 'recordings are not part of this agent', { hint: 'run tcpdiag serve' });
  return context.recordings;
}

function startBody(body: unknown): StartBody {
  const parsed = startSchema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? 'the body' : issue.path.join('.');
    throw new UsageError(`${where}: ${issue?.message ?? 'invalid'}`, `send a JSON object with some of: ${Object.keys(startSchema.shape).join(', ')}`);
  }
  return parsed.data;
}

function bodyFilter(b: StartBody): ConnFilter {
  const filter = filterFromFlags(b.port === undefined ? {} : { port: [b.port] }, b.expr === undefined ? [] : [b.expr]);
  if (filter.states !== undefined || filter.pids !== undefined || filter.process !== undefined) {
    throw new UsageError('expr: states and owners cannot narrow a recording (packets and kernel events have none)', 'narrow by addresses and ports: "dport = :443", "dst 10.0.0.0/8"');
  }
  return filter;
}

function idOf(q: Query): number {
  const text = param(q, 'id', z.string().check(z.regex(/^\d{1,15}$/, 'expected a recording id')));
  if (text === undefined) throw new UsageError('query parameter id is missing', 'GET /api/v1/recordings lists the ids');
  return Number(text);
}

function recordingOf(r: Recordings, q: Query): Recording {
  const id = idOf(q);
  const found = r.store.get(id);
  if (found === null) throw new TcpdiagError('TCPDIAG_NOT_FOUND', `no recording ${id}`, { hint: 'GET /api/v1/recordings lists them' });
  return found;
}

function list(context: ApiContext, q: Query): unknown {
  const r = service(context);
  const kind = param(q, 'kind', z.enum(['capture', 'trace'] as [RecordingKind, ...RecordingKind[]]));
  const status = param(q, 'status', z.enum(['running', 'stopped', 'failed', 'interrupted', 'expired'] as [RecordingStatus, ...RecordingStatus[]]));
  if (one(q, 'id') !== undefined) return { recordings: [recordingOf(r, q)] };
  return {
    recordings: r.store.list({ fromMs: timeOf(q, 'from', 0), limit: limitOf(q, 100), ...(kind === undefined ? {} : { kind }), ...(status === undefined ? {} : { status }) }),
    running: r.recorder.active,
    escalation: r.escalation.state(),
    rings: r.rings?.state() ?? [],
    actions: r.options.actions,
  };
}

async function startCapture(context: ApiContext, _q: Query, body: unknown): Promise<unknown> {
  const r = service(context);
  r.requireAction('capture');
  const b = startBody(body);
  if (b.detail !== undefined) throw new UsageError('detail: only a trace has socket fields', 'POST /api/v1/traces');
  const filter = bodyFilter(b);
  checkCapacity(r);
  const e = r.options.escalation;
  const handle = r.recorder.startCapture({
    trigger: 'request', reason: b.reason === undefined ? 'requested through the API' : `requested: ${b.reason}`, scope: { kind: 'host', value: null }, filter,
    durationMs: (b.duration_s ?? e.durationMs / 1000) * 1000, maxBytes: (b.max_mb ?? e.captureMaxBytes / 1048576) * 1048576,
    interface: b.interface ?? e.interface, snaplen: b.snaplen ?? e.snaplen,
    pcapFilter: b.filter === undefined ? [] : b.filter.split(/\s+/).filter((w) => w !== ''),
  });
  // A bad filter or interface is the caller's error, answered now (tcpdump refuses at start).
  await handle.started;
  return { recording: r.store.get(handle.id) };
}

async function startTrace(context: ApiContext, _q: Query, body: unknown): Promise<unknown> {
  const r = service(context);
  r.requireAction('trace');
  const b = startBody(body);
  if (b.filter !== undefined || b.interface !== undefined || b.snaplen !== undefined) throw new UsageError('filter, interface and snaplen are a capture\'s', 'narrow a trace with expr or port');
  const filter = bodyFilter(b);
  checkCapacity(r);
  const e = r.options.escalation;
  const handle = r.recorder.startTrace({
    trigger: 'request', reason: b.reason === undefined ? 'requested through the API' : `requested: ${b.reason}`, scope: { kind: 'host', value: null }, filter,
    durationMs: (b.duration_s ?? e.durationMs / 1000) * 1000, maxBytes: (b.max_mb ?? e.traceMaxBytes / 1048576) * 1048576, detail: b.detail ?? e.traceDetail,
  });
  await handle.started;
  return { recording: r.store.get(handle.id) };
}

/** Requests share the escalations' cap: at most max_concurrent recordings started on request run at once. */
function checkCapacity(r: Recordings): void {
  const cap = r.options.escalation.maxConcurrent * 2;
  if (r.recorder.active >= cap) {
    throw new TcpdiagError('TCPDIAG_BUSY', `${r.recorder.active} recordings are running, the most this agent runs at once (2 x escalation.max_concurrent)`, { hint: 'stop one (POST /api/v1/recordings/stop?id=N) or wait for one to end' });
  }
}

async function stop(context: ApiContext, q: Query): Promise<unknown> {
  const r = service(context);
  const rec = recordingOf(r, q);
  const ended = await r.recorder.stop(rec.id);
  return { recording: ended ?? rec, wasRunning: ended !== null };
}

function download(context: ApiContext, q: Query): FileReply {
  const r = service(context);
  const rec = recordingOf(r, q);
  if (r.recorder.isRunning(rec.id) || rec.status === 'running') throw new TcpdiagError('TCPDIAG_BUSY', `recording ${rec.id} is still running`, { hint: `wait until it ends, or stop it: POST /api/v1/recordings/stop?id=${rec.id}` });
  if (rec.file === null) throw new TcpdiagError('TCPDIAG_NOT_FOUND', `recording ${rec.id} has no file (${rec.status})`, { hint: rec.status === 'expired' ? 'it was removed to keep recordings under escalation.max_total_mb' : 'it wrote nothing' });
  const pcap = rec.kind === 'capture';
  return new FileReply(rec.file, pcap ? 'application/vnd.tcpdump.pcap' : 'application/x-ndjson', `tcpdiag-${rec.kind}-${rec.id}.${pcap ? 'pcap' : 'jsonl'}`);
}

function analysis(context: ApiContext, q: Query): TextReply {
  const r = service(context);
  const rec = recordingOf(r, q);
  if (rec.kind !== 'capture') throw new TcpdiagError('TCPDIAG_NOT_FOUND', `recording ${rec.id} is a trace: only captures are analysed`, { hint: `download its events: GET /api/v1/recordings/download?id=${rec.id}` });
  const text = r.store.analysis(rec.id);
  if (text === null) {
    if (rec.status === 'running' || r.recorder.isRunning(rec.id)) throw new TcpdiagError('TCPDIAG_BUSY', `recording ${rec.id} is still running: it is analysed when it ends`, { hint: 'retry once it has stopped' });
    throw new TcpdiagError('TCPDIAG_NOT_FOUND', `recording ${rec.id} has no analysis (${rec.status}${rec.error === null ? '' : `: ${rec.error}`})`, { hint: 'a capture that stopped is analysed within seconds; retry, or analyse its file with tcpdiag analyze' });
  }
  return new TextReply(text);
}

/** POST /api/v1/analyze: the body is a pcap or pcapng file; the answer is `tcpdiag analyze --json` of it. */
async function upload(context: ApiContext, q: Query, body: unknown): Promise<unknown> {
  const r = service(context);
  const req = body as IncomingMessage;
  const limit = r.options.uploadMaxBytes;
  const tooBig = (): TcpdiagError => new TcpdiagError('TCPDIAG_FILE_REFUSED', `the uploaded capture is larger than ${limit} bytes (escalation.upload_max_mb)`, { hint: 'cut it first (tcpdump -r big.pcap -w part.pcap -c 100000, or editcap), or raise escalation.upload_max_mb' });
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) {
    req.resume();
    throw tooBig();
  }
  if (r.uploading) {
    req.resume();
    throw new TcpdiagError('TCPDIAG_BUSY', 'another upload is being analysed', { hint: 'retry when it has been answered' });
  }
  r.uploading = true;
  const path = join(r.options.directory, `upload-${process.pid}-${Date.now()}.tmp`);
  try {
    let received = 0;
    const cap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        if (received > limit) callback(tooBig());
        else callback(null, chunk);
      },
    });
    mkdirSync(r.options.directory, { recursive: true, mode: 0o700 });
    try {
      await pipeline(req, cap, createWriteStream(path, { mode: 0o600 }));
    } catch (error: unknown) {
      req.resume();
      if (error instanceof TcpdiagError) throw error;
      throw new TcpdiagError('TCPDIAG_MALFORMED_INPUT', 'the upload did not arrive whole', { hint: 'send the file as the request body (curl --data-binary @file.pcap)' });
    }
    if (received === 0) throw new MalformedInputError('the upload', 'the body is empty', undefined, 'send a pcap or pcapng file as the body (curl --data-binary @file.pcap)');
    let report;
    try {
      ({ report } = await analyzeCapture(path, { ...ANALYSIS_OPTIONS, thresholds: r.options.thresholds, signal: context.signal }));
    } catch (error: unknown) {
      if (error instanceof MalformedInputError) {
        throw new MalformedInputError('the upload', error.reason, error.offset, 'send a pcap or pcapng capture (tcpdump -w, tcpdiag capture, Wireshark)');
      }
      throw error;
    }
    const name = one(q, 'name');
    return { ...report, file: name === undefined ? null : name.slice(0, 200) };
  } finally {
    rmSync(path, { force: true });
    r.uploading = false;
  }
}

export const RECORDING_PARAMETERS: Readonly<Record<string, string>> = {
  '/api/v1/recordings': 'kind (capture|trace), status, from, limit, id: captures and traces with their reason, trigger, scope, times, status, file and size; the escalation\'s state',
  '/api/v1/captures': `(POST, needs agent.actions "capture") {filter (pcap-filter), expr (ss filter), port, duration_s, max_mb, interface, snaplen, reason}`,
  '/api/v1/traces': `(POST, needs agent.actions "trace") {expr, port, duration_s, max_mb, detail, reason}`,
  '/api/v1/recordings/stop': '(POST) id',
  '/api/v1/recordings/download': 'id: the pcap (application/vnd.tcpdump.pcap) or the trace\'s JSON lines',
  '/api/v1/recordings/analysis': 'id: the capture\'s analysis, as tcpdiag analyze --json prints it',
  '/api/v1/analyze': '(POST, body: a pcap or pcapng file, at most escalation.upload_max_mb) name: the analysis, as tcpdiag analyze --json',
};

export const RECORDING_ROUTES: Readonly<Record<string, Route>> = {
  '/api/v1/recordings': { method: 'GET', handler: list },
  '/api/v1/captures': { method: 'POST', handler: startCapture },
  '/api/v1/traces': { method: 'POST', handler: startTrace },
  '/api/v1/recordings/stop': { method: 'POST', handler: stop },
  '/api/v1/recordings/download': { method: 'GET', handler: download },
  '/api/v1/recordings/analysis': { method: 'GET', handler: analysis },
  '/api/v1/analyze': { method: 'POST', handler: upload, body: 'raw' },
};
