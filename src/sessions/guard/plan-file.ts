/**
 * Change plans as files: the body, its content hash (sha256 over canonical JSON: keys sorted, so
 * the hash does not depend on how the file was formatted) and the approval, which names the
 * hash it approved. Reading checks the shape; `checkApplicable` refuses what must not be applied.
 */
import { createHash } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { FileUnwritableError, MalformedInputError, PlanRefusedError } from '../../errors.js';
import { PLAN_FORMAT } from '../../model/guard.js';
import type { PlanApproval, PlanBody, PlanFile } from '../../model/guard.js';
import { readBoundedFileSync } from '../../platform/read-file.js';

/** A plan holds a ruleset and evidence; 16 MiB is far past any real one. */
export const PLAN_MAX_BYTES = 16 * 1024 * 1024;

/** JSON with object keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function bodyOf(plan: PlanFile): PlanBody {
  const { hash: _hash, approval: _approval, ...body } = plan;
  return body;
}

export function planHash(body: PlanBody): string {
  return `sha256:${createHash('sha256').update(canonicalJson(body)).digest('hex')}`;
}

export function sealPlan(body: PlanBody): PlanFile {
  return { ...body, hash: planHash(body), approval: null };
}

export function writePlan(path: string, plan: PlanFile): void {
  // Written beside and renamed: a reader never sees half a plan.
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, JSON.stringify(plan, null, 2) + '\n', { mode: 0o644 });
    renameSync(tmp, path);
  } catch (error: unknown) {
    throw new FileUnwritableError(path, error);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function readPlan(path: string): PlanFile {
  const text = readBoundedFileSync(path, PLAN_MAX_BYTES, 'plan file').toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error: unknown) {
    throw new MalformedInputError(`plan file ${path}`, `not JSON (${error instanceof Error ? error.message : String(error)})`, undefined, 'name a file written by tcpdiag guard plan or tcpdiag tune plan');
  }
  const bad = (what: string): never => {
    throw new MalformedInputError(`plan file ${path}`, what, undefined, 'name a file written by tcpdiag guard plan or tcpdiag tune plan');
  };
  if (!isObject(value)) return bad('not a JSON object');
  if (value.format !== PLAN_FORMAT) return bad(`format is not "${PLAN_FORMAT}"`);
  for (const key of ['id', 'author', 'createdAt', 'hash'] as const) if (typeof value[key] !== 'string') bad(`"${key}" is missing or not a string`);
  if (!/^[a-z]+-[0-9TZ-]+-[0-9a-f]{6}$/.test(value.id as string)) bad('"id" is not a plan id');
  if (value.kind !== 'guard' && value.kind !== 'tune') bad('"kind" is not guard or tune');
  for (const key of ['createdAtMs', 'expiresAtMs'] as const) if (typeof value[key] !== 'number' || !Number.isFinite(value[key])) bad(`"${key}" is not a number`);
  if (!Array.isArray(value.sysctls) || !Array.isArray(value.commands) || !Array.isArray(value.undo) || !Array.isArray(value.summary)) bad('"sysctls", "commands", "undo" or "summary" is not an array');
  for (const s of value.sysctls as unknown[]) if (!isObject(s) || typeof s.name !== 'string' || typeof s.value !== 'string') bad('a sysctl change lacks its name or value');
  if (value.nft !== null && (!isObject(value.nft) || typeof value.nft.ruleset !== 'string' || !Array.isArray(value.nft.bans) || !Array.isArray(value.nft.limits))) bad('"nft" is malformed');
  if (value.persist !== null && (!isObject(value.persist) || typeof value.persist.path !== 'string' || typeof value.persist.content !== 'string')) bad('"persist" is malformed');
  if (value.netns !== null && (!isObject(value.netns) || typeof value.netns.path !== 'string')) bad('"netns" is malformed');
  if (value.approval !== null && (!isObject(value.approval) || typeof value.approval.by !== 'string' || typeof value.approval.hash !== 'string')) bad('"approval" is malformed');
  return value as unknown as PlanFile;
}

/** Why the file's content no longer matches its hash (an edit after it was written), or null. */
export function alteration(plan: PlanFile): string | null {
  const actual = planHash(bodyOf(plan));
  return actual === plan.hash ? null : `its content hash is ${actual.slice(0, 19)}..., not the ${plan.hash.slice(0, 19)}... it was written with: it was edited`;
}

export function approve(plan: PlanFile, by: string, runBy: string, nowMs: number): PlanFile {
  const approval: PlanApproval = { by, at: new Date(nowMs).toISOString(), atMs: nowMs, hash: plan.hash, runBy };
  return { ...plan, approval };
}

/** Throws PlanRefusedError unless the plan may be applied now. */
export function checkApplicable(plan: PlanFile, nowMs: number): void {
  const altered = alteration(plan);
  if (altered !== null) throw new PlanRefusedError(`plan ${plan.id} was altered: ${altered}`, 'make a new plan (tcpdiag guard plan / tune plan) and have it approved again');
  if (plan.approval === null) throw new PlanRefusedError(`plan ${plan.id} is not approved`, `a second person approves it first: tcpdiag plan approve FILE --by NAME (anyone but ${plan.author})`);
  if (plan.approval.hash !== plan.hash) throw new PlanRefusedError(`plan ${plan.id} was changed after it was approved (approved ${plan.approval.hash.slice(0, 19)}..., now ${plan.hash.slice(0, 19)}...)`, 'have the plan as it is now approved again');
  if (plan.approval.by === plan.author) throw new PlanRefusedError(`plan ${plan.id} is approved by its own author (${plan.author})`, 'two-person rule: someone other than the author approves it: tcpdiag plan approve FILE --by NAME');
  if (nowMs > plan.expiresAtMs) throw new PlanRefusedError(`plan ${plan.id} expired at ${new Date(plan.expiresAtMs).toISOString()}`, 'the evidence is stale: make a new plan from what is happening now');
}
