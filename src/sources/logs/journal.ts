/**
 * A systemd unit's journal lines in a time window, through journalctl (spawned with an argument
 * array, never a shell). Hosts without journalctl, or with journalctl and no journal (containers,
 * machines where journald does not run), get a reason instead of lines.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { findExecutable } from '../../platform/capabilities.js';

/** Where systemd-journald keeps its files: volatile and persistent (journald.conf(5) Storage=). */
export const JOURNAL_DIRS = ['/run/log/journal', '/var/log/journal'] as const;

/** Whether any journal file exists (in DIR or DIR/MACHINE-ID/); journalctl -o json says nothing when none does. */
export function journalFilesExist(dirs: readonly string[] = JOURNAL_DIRS): boolean {
  for (const dir of dirs) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (entry.endsWith('.journal')) return true;
      try {
        if (readdirSync(join(dir, entry)).some((f) => f.endsWith('.journal') || f.endsWith('.journal~'))) return true;
      } catch {
        // not a directory
      }
    }
  }
  return false;
}

export type JournalResult =
  | { readonly ok: true; readonly lines: Array<{ text: string; atMs: number | null }>; readonly truncatedBytes: number }
  | { readonly ok: false; readonly reason: string; readonly hint?: string };

export async function readJournal(unit: string, sinceMs: number, untilMs: number, capBytes: number, signal?: AbortSignal): Promise<JournalResult> {
  const journalctl = findExecutable('journalctl');
  if (journalctl === null) return { ok: false, reason: 'journalctl is not installed', hint: 'apt-get install -y systemd, or pass the service\'s log file with --log FILE' };
  if (!journalFilesExist()) {
    return { ok: false, reason: `no journal files in ${JOURNAL_DIRS.join(' or ')}: systemd-journald does not run on this host`, hint: 'pass the service\'s log file with --log FILE' };
  }
  const args = ['--unit', unit, '--since', `@${Math.floor(sinceMs / 1000)}`, '--until', `@${Math.ceil(untilMs / 1000)}`, '--output', 'json', '--no-pager', '--quiet'];
  return new Promise((resolve) => {
    const child = spawn(journalctl, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(signal === undefined ? {} : { signal }) });
    const chunks: Buffer[] = [];
    let bytes = 0;
    let truncated = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      if (truncated > 0 || bytes + chunk.length > capBytes) {
        truncated += chunk.length;
        return;
      }
      bytes += chunk.length;
      chunks.push(chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d.slice(0, 4096)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ ok: false, reason: `journalctl failed: ${error.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      if (/No journal files were found/i.test(stderr)) {
        resolve({ ok: false, reason: 'journalctl found no journal on this host (systemd-journald is not running)', hint: 'pass the service\'s log file with --log FILE' });
        return;
      }
      if (code !== 0) {
        resolve({ ok: false, reason: `journalctl exited ${code}: ${stderr.trim().split('\n')[0] ?? ''}` });
        return;
      }
      resolve({ ok: true, lines: parseJournalJson(text), truncatedBytes: truncated });
    });
  });
}

/** journalctl -o json: one object per line with MESSAGE (a string, or bytes as numbers) and __REALTIME_TIMESTAMP (µs). */
export function parseJournalJson(text: string): Array<{ text: string; atMs: number | null }> {
  const lines: Array<{ text: string; atMs: number | null }> = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const entry = JSON.parse(line) as { MESSAGE?: unknown; __REALTIME_TIMESTAMP?: unknown };
      const message = typeof entry.MESSAGE === 'string' ? entry.MESSAGE : Array.isArray(entry.MESSAGE) ? Buffer.from(entry.MESSAGE as number[]).toString('utf8') : null;
      if (message === null) continue;
      const us = Number(entry.__REALTIME_TIMESTAMP);
      lines.push({ text: message, atMs: Number.isFinite(us) ? Math.floor(us / 1000) : null });
    } catch {
      // a line cut by the cap: skip it
    }
  }
  return lines;
}
