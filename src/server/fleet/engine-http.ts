/**
 * GETs and POSTs to the fleet engines for `tcpdiag fleet`, with a deadline, and their failures
 * as one coded error that names the engine and what to check.
 */
import { TcpdiagError } from '../../errors.js';
import { describeFetchError } from '../exporters/shipper.js';

export async function engineRequest(what: string, url: string, init: { readonly method?: string; readonly body?: string; readonly headers?: Readonly<Record<string, string>> }, timeoutMs: number, signal: AbortSignal): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { method: init.method ?? 'GET', ...(init.body === undefined ? {} : { body: init.body }), headers: { ...init.headers }, signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) });
  } catch (error: unknown) {
    const reason = error instanceof Error ? (error.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : describeFetchError(error)) : String(error);
    throw new TcpdiagError('TCPDIAG_ENGINE_FAILED', `${what} at ${new URL(url).origin} cannot be reached: ${reason}`, { hint: `check the URL and that ${what} runs (curl -s ${new URL(url).origin}/)`, cause: error });
  }
  const text = await response.text();
  if (!response.ok) {
    throw new TcpdiagError('TCPDIAG_ENGINE_FAILED', `${what} at ${new URL(url).origin} answered ${response.status}: ${text.trim().split('\n')[0]?.slice(0, 300) ?? ''}`, { hint: `check the URL (${what === 'ClickHouse' ? 'its HTTP interface, usually port 8123, and fleet.clickhouse_table' : 'the PromQL API root, e.g. http://HOST:8428 or http://HOST:9090'})` });
  }
  return text;
}
