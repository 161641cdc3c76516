// What the OS says about a process, to recognise one of our agents after an AMS restart
// without PID-reuse mistakes: its start time (clock ticks since boot, from /proc/<pid>/stat,
// or `ps -o lstart=` where there is no /proc) and its command line, and whether it still lives.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

export interface ProcessIdentity {
  pid: number;
  /** Start time as the OS reports it: /proc starttime ticks, or ps lstart text. */
  startTime: string;
  /** argv joined with NUL characters. */
  cmdline: string;
}

const HAS_PROC = process.platform === 'linux' && fs.existsSync('/proc/self/stat');

/** The process's start time token and state from /proc/<pid>/stat; undefined when it is gone. */
function procStat(pid: number): { startTime: string; state: string } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // `pid (comm) state ...`: comm may hold spaces and parentheses, so split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Field 3 is the state and field 22 the start time (proc(5)); `rest` starts at field 3.
  return { state: rest[0], startTime: rest[19] };
}

function ps(pid: number, field: string): string | undefined {
  try {
    const out = execFileSync('ps', ['-o', `${field}=`, '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return out || undefined;
  } catch {
    return undefined;
  }
}

/** The identity of a live process, or undefined when there is none (or it is a zombie). */
export function identify(pid: number): ProcessIdentity | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (HAS_PROC) {
    const stat = procStat(pid);
    if (!stat || stat.state === 'Z' || stat.state === 'X') return undefined;
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '');
    } catch {
      return undefined;
    }
    return { pid, startTime: stat.startTime, cmdline };
  }
  const startTime = ps(pid, 'lstart');
  const command = ps(pid, 'command');
  if (!startTime || command === undefined) return undefined;
  // ps shows argv separated by spaces; record it the same way both times.
  return { pid, startTime, cmdline: command };
}

/** Whether `pid` is still the very process `expected` describes. */
export function isSameProcess(expected: ProcessIdentity): boolean {
  const now = identify(expected.pid);
  return now !== undefined && now.startTime === expected.startTime && now.cmdline === expected.cmdline;
}

/** Whether any process has this PID (no identity check: use isSameProcess for that). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
