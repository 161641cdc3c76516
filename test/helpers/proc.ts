// Processes as /proc shows them.
import fs from 'node:fs';

/** Whether a process with this PID exists (and is not a zombie). */
export function alive(pid: number | string): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
