/**
 * ftrace's own record of the tasks it traced: saved_cmdlines (pid -> comm) and, with
 * options/record-tgid, saved_tgids (tid -> tgid). It is how a trace names a short-lived task
 * after the task has exited (Documentation/trace/ftrace.rst, "saved_cmdlines").
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function readSavedTasks(tracefsRoot: string): { comm: Map<number, string>; tgid: Map<number, number> } {
  return {
    comm: readPairs(join(tracefsRoot, 'saved_cmdlines'), (v) => v),
    tgid: readPairs(join(tracefsRoot, 'saved_tgids'), Number),
  };
}

/** "PID VALUE" lines as a map; unreadable means empty. */
function readPairs<T>(path: string, parse: (text: string) => T): Map<number, T> {
  const map = new Map<number, T>();
  let text = '';
  try {
    text = readFileSync(path, 'latin1');
  } catch {
    return map;
  }
  for (const line of text.split('\n')) {
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const pid = Number(line.slice(0, space));
    if (Number.isInteger(pid) && pid > 0) map.set(pid, parse(line.slice(space + 1).trim()));
  }
  return map;
}
