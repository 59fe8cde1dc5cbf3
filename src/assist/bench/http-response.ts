/**
 * A minimal, defensive, incremental HTTP/1.1 response parser for the load generator's hot path:
 * status line, Content-Length, chunked transfer coding and Connection. It never allocates per
 * body byte (bodies are only counted) and caps everything an untrusted server controls: header
 * block size, chunk-size line length, the number of interim (1xx) responses.
 *
 * Message framing follows RFC 9112 section 6.3: no body for HEAD, 1xx, 204 and 304; chunked
 * wins over Content-Length; differing Content-Length values are an error; otherwise the body
 * runs until the server closes the connection.
 */

/** Bytes from the server that are not a valid HTTP/1.x response. */
export class MalformedResponseError extends Error {
  override readonly name = 'MalformedResponseError';
}

/** A response head larger than this is refused (nginx's large_client_header_buffers is 8 KiB x 4). */
export const MAX_HEAD_BYTES = 64 * 1024;
const MAX_CHUNK_LINE_BYTES = 1024;
const MAX_INTERIM_RESPONSES = 16;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const LF = 0x0a;
const MAX_CACHED_HEAD_BYTES = 4096;

/** What the parser needs from a response head. */
export interface ParsedHead {
  readonly statusCode: number;
  /** 1xx other than 101: another head follows. */
  readonly interim: boolean;
  readonly connectionClose: boolean;
  readonly chunked: boolean;
  /** -1 when absent. */
  readonly contentLength: number;
}

/** Parse a response head (status line and header fields, without the final CRLFCRLF). */
export function parseHead(head: string): ParsedHead {
  if (head.length > MAX_HEAD_BYTES) throw new MalformedResponseError(`response head larger than ${MAX_HEAD_BYTES} bytes`);
  const lines = head.split('\r\n');
  const status = lines[0] ?? '';
  // status-line = HTTP-version SP status-code SP [ reason-phrase ]  (RFC 9112 section 4)
  const match = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(status);
  if (match === null) throw new MalformedResponseError(`bad status line ${JSON.stringify(status.slice(0, 80))}`);
  const statusCode = Number(match[2]);
  const http10 = match[1] === '0';
  let contentLength = -1;
  let chunked = false;
  let connectionClose = http10;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MalformedResponseError(`bad header line ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).toLowerCase();
    if (name === 'content-length') {
      const value = line.slice(colon + 1).trim();
      if (!/^\d{1,15}$/.test(value)) throw new MalformedResponseError(`bad Content-Length ${JSON.stringify(value.slice(0, 40))}`);
      const n = Number(value);
      // Differing values are an unrecoverable framing error (RFC 9112 section 6.3, item 5).
      if (contentLength !== -1 && contentLength !== n) throw new MalformedResponseError('conflicting Content-Length headers');
      contentLength = n;
    } else if (name === 'transfer-encoding') {
      const codings = line.slice(colon + 1).toLowerCase().split(',');
      chunked = codings[codings.length - 1]?.trim() === 'chunked';
    } else if (name === 'connection') {
      const tokens = line.slice(colon + 1).toLowerCase();
      if (tokens.includes('close')) connectionClose = true;
      else if (http10 && tokens.includes('keep-alive')) connectionClose = false;
    }
  }
  const interim = statusCode >= 100 && statusCode < 200 && statusCode !== 101;
  return { statusCode, interim, connectionClose, chunked, contentLength };
}

const enum State {
  Head,
  BodyLength,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Done,
}

/** Result of feed() when the response is not complete yet. */
export const NEED_MORE = -1;

export class HttpResponseParser {
  statusCode = 0;
  /** false when the server said Connection: close, spoke HTTP/1.0 without keep-alive, or the body ends at close. */
  keepAlive = true;
  /** Body bytes seen (chunked: payload bytes, not framing). */
  bodyBytes = 0;
  private state = State.Head;
  private headParts: Buffer[] = [];
  private headBytes = 0;
  private remaining = 0;
  private lineBytes = 0;
  private chunkLine = '';
  private interim = 0;
  private headRequest = false;
  private cachedHead: { readonly bytes: Buffer; readonly head: ParsedHead } | null = null;

  /** Start a new response; `headRequest` when the request was HEAD (no body follows). */
  reset(headRequest = false): void {
    this.statusCode = 0;
    this.keepAlive = true;
    this.bodyBytes = 0;
    this.state = State.Head;
    this.headParts = [];
    this.headBytes = 0;
    this.remaining = 0;
    this.lineBytes = 0;
    this.chunkLine = '';
    this.interim = 0;
    this.headRequest = headRequest;
  }

  /** True when the body is delimited by the server closing the connection. */
  get endsAtClose(): boolean {
    return this.state === State.UntilClose;
  }

  /**
   * Feed bytes buf[start, end). Returns NEED_MORE, or the offset just past the end of the
   * response (bytes after it belong to nobody: the caller decides). Throws MalformedResponseError.
   */
  feed(buf: Buffer, start = 0, end = buf.length): number {
    let at = start;
    while (at < end) {
      switch (this.state) {
        case State.Head:
          at = this.feedHead(buf, at, end);
          if (at === NEED_MORE) return NEED_MORE;
          if (this.isDone()) return at;
          break;
        case State.BodyLength: {
          const take = Math.min(this.remaining, end - at);
          this.remaining -= take;
          this.bodyBytes += take;
          at += take;
          if (this.remaining === 0) return this.finish(at);
          break;
        }
        case State.ChunkSize:
        case State.ChunkDataEnd:
        case State.Trailers:
          at = this.feedLine(buf, at, end);
          if (this.isDone()) return at;
          break;
        case State.ChunkData: {
          const take = Math.min(this.remaining, end - at);
          this.remaining -= take;
          this.bodyBytes += take;
          at += take;
          if (this.remaining === 0) this.state = State.ChunkDataEnd;
          break;
        }
        case State.UntilClose:
          this.bodyBytes += end - at;
          return NEED_MORE;
        case State.Done:
          return at;
      }
    }
    return this.state === State.Done ? at : NEED_MORE;
  }

  private isDone(): boolean {
    return this.state === State.Done;
  }

  /** The server closed the connection: complete if the body was close-delimited, else throw. */
  endOfStream(): void {
    if (this.state === State.UntilClose) {
      this.state = State.Done;
      return;
    }
    if (this.state !== State.Done) throw new MalformedResponseError('connection closed before the response was complete');
  }

  private finish(at: number): number {
    this.state = State.Done;
    return at;
  }

  private feedHead(buf: Buffer, at: number, end: number): number {
    if (this.headParts.length === 0) {
      const idx = buf.indexOf(CRLFCRLF, at);
      if (idx === -1 || idx >= end - 3) return this.stashHead(buf, at, end);
      const length = idx - at;
      // Fast path: a server under load sends the same head again and again (a Date header
      // changes once a second), so reuse the last parse when the bytes are identical.
      const cached = this.cachedHead;
      if (cached !== null && cached.bytes.length === length && buf.compare(cached.bytes, 0, length, at, idx) === 0) {
        this.applyHead(cached.head);
      } else {
        const head = parseHead(buf.toString('latin1', at, idx));
        if (length <= MAX_CACHED_HEAD_BYTES) this.cachedHead = { bytes: Buffer.from(buf.subarray(at, idx)), head };
        this.applyHead(head);
      }
      return idx + 4;
    }
    // The head arrived in pieces: search the joined bytes (bounded by MAX_HEAD_BYTES).
    const joined = Buffer.concat([...this.headParts, buf.subarray(at, end)]);
    const idx = joined.indexOf(CRLFCRLF);
    if (idx === -1) return this.stashHead(buf, at, end);
    this.headParts = [];
    this.headBytes = 0;
    if (idx > MAX_HEAD_BYTES) throw new MalformedResponseError(`response head larger than ${MAX_HEAD_BYTES} bytes`);
    this.applyHead(parseHead(joined.toString('latin1', 0, idx)));
    return end - (joined.length - (idx + 4));
  }

  private stashHead(buf: Buffer, at: number, end: number): number {
    this.headBytes += end - at;
    if (this.headBytes > MAX_HEAD_BYTES) throw new MalformedResponseError(`response head larger than ${MAX_HEAD_BYTES} bytes`);
    // Copy: the caller may reuse its read buffer.
    this.headParts.push(Buffer.from(buf.subarray(at, end)));
    return NEED_MORE;
  }

  private applyHead(head: ParsedHead): void {
    if (head.interim) {
      // Interim response (100 Continue, 103 Early Hints): the final one follows.
      if (++this.interim > MAX_INTERIM_RESPONSES) throw new MalformedResponseError('too many interim (1xx) responses');
      return;
    }
    const code = head.statusCode;
    this.statusCode = code;
    this.keepAlive = !head.connectionClose;
    if (this.headRequest || code === 204 || code === 304 || code === 101) {
      this.state = State.Done;
    } else if (head.chunked) {
      this.state = State.ChunkSize;
      this.lineBytes = 0;
      this.chunkLine = '';
    } else if (head.contentLength >= 0) {
      this.remaining = head.contentLength;
      this.state = head.contentLength === 0 ? State.Done : State.BodyLength;
    } else {
      this.state = State.UntilClose;
      this.keepAlive = false;
    }
  }

  /** Lines of the chunked framing: chunk-size lines, the CRLF after data, trailers. */
  private feedLine(buf: Buffer, at: number, end: number): number {
    const lf = buf.indexOf(LF, at);
    const stop = lf === -1 || lf >= end ? end : lf;
    this.lineBytes += stop - at;
    if (this.lineBytes > MAX_CHUNK_LINE_BYTES) throw new MalformedResponseError('chunk framing line too long');
    this.chunkLine += buf.toString('latin1', at, stop);
    if (stop === end) return end;
    const line = this.chunkLine.endsWith('\r') ? this.chunkLine.slice(0, -1) : this.chunkLine;
    this.chunkLine = '';
    this.lineBytes = 0;
    const next = stop + 1;
    if (this.state === State.ChunkDataEnd) {
      if (line.length !== 0) throw new MalformedResponseError('chunk data longer than its chunk size');
      this.state = State.ChunkSize;
    } else if (this.state === State.ChunkSize) {
      // chunk-size [ chunk-ext ] CRLF  (RFC 9112 section 7.1)
      const sizeText = (line.split(';', 1)[0] ?? '').trim();
      if (!/^[0-9a-fA-F]{1,12}$/.test(sizeText)) throw new MalformedResponseError(`bad chunk size ${JSON.stringify(sizeText.slice(0, 40))}`);
      const size = parseInt(sizeText, 16);
      if (size === 0) this.state = State.Trailers;
      else {
        this.remaining = size;
        this.state = State.ChunkData;
      }
    } else if (line.length === 0) {
      // The empty line after the (usually absent) trailer fields ends the message.
      return this.finish(next);
    }
    return next;
  }
}
