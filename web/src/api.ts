/**
 * The agent's JSON API from the page: the token (remembered in localStorage) as a bearer
 * header; a missing route (404) is `null` so pages degrade on an older agent; a 401 tells the
 * shell to ask for the token; a failed fetch means the agent is unreachable.
 */
const TOKEN_KEY = 'tcpdiag.token';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly hint: string | null) {
    super(message);
  }
}

type AuthListener = () => void;
const authListeners = new Set<AuthListener>();

export function onUnauthorized(fn: AuthListener): void {
  authListeners.add(fn);
}

export function token(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(value: string): void {
  if (value === '') localStorage.removeItem(TOKEN_KEY);
  else localStorage.setItem(TOKEN_KEY, value);
}

async function request(method: 'GET' | 'POST', path: string, body?: BodyInit, contentType?: string): Promise<Response> {
  const headers: Record<string, string> = {};
  const tok = token();
  if (tok !== null) headers.Authorization = `Bearer ${tok}`;
  if (contentType !== undefined) headers['Content-Type'] = contentType;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, ...(body === undefined ? {} : { body }), cache: 'no-store' });
  } catch (error: unknown) {
    throw new ApiError(0, 'UNREACHABLE', error instanceof Error ? error.message : String(error), null);
  }
  if (res.status === 401) {
    for (const fn of authListeners) fn();
  }
  return res;
}

async function decode<T>(res: Response): Promise<T> {
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    parsed = null;
  }
  if (!res.ok) {
    const e = (parsed as { error?: { code?: string; message?: string; hint?: string | null } } | null)?.error;
    throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? text.slice(0, 200), e?.hint ?? null);
  }
  return parsed as T;
}

/** GET a route; null when the agent does not have it (404). */
export async function get<T>(path: string): Promise<T | null> {
  const res = await request('GET', path);
  if (res.status === 404) return null;
  return decode<T>(res);
}

export async function post<T>(path: string, body: unknown, raw?: { type: string; data: BodyInit }): Promise<T | null> {
  const res = raw === undefined ? await request('POST', path, JSON.stringify(body ?? {}), 'application/json') : await request('POST', path, raw.data, raw.type);
  if (res.status === 404) return null;
  return decode<T>(res);
}
