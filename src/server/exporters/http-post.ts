/**
 * One POST to a fleet engine with a deadline, mapped to the shipper's result: 2xx is taken,
 * 5xx/408/429 and network errors are retried, any other status is refused for good.
 */
import type { SendResult } from './shipper.js';
import { retryable } from './shipper.js';

export async function postBody(url: string, body: Uint8Array, headers: Readonly<Record<string, string>>, timeoutMs: number, signal: AbortSignal): Promise<SendResult> {
  const response = await fetch(url, { method: 'POST', body, headers, signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) });
  if (response.ok) {
    await response.arrayBuffer();
    return { ok: true };
  }
  const text = (await response.text()).slice(0, 300).trim();
  return { ok: false, retry: retryable(response.status), reason: `${url} answered ${response.status}${text === '' ? '' : `: ${text}`}` };
}
