// What each status-history row means, in one sentence with its cause, and which row was in
// effect at a moment (for the cursor shared with the metrics charts).
import type { StatusHistoryEntry } from '../../api/types';

/** "process_exit" → "process exit". */
const label = (v: string): string => v.replace(/_/g, ' ');

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null);

function by(details: Record<string, unknown>): string {
  const who = str(details.actor) ?? str(details.requested_by) ?? str(details.by) ?? str(details.trigger);
  return who ? ` by ${who}` : '';
}

function exit(details: Record<string, unknown>): string {
  const signal = str(details.signal);
  const code = str(details.exit_code);
  if (signal) return `killed by ${signal}`;
  if (code !== null) return `exit code ${code}`;
  return 'no exit code';
}

/** A sentence saying what happened and why. */
export function describeTransition(e: Pick<StatusHistoryEntry, 'event_type' | 'from_status' | 'to_status' | 'details'>): string {
  const d = e.details ?? {};
  const reason = str(d.reason) ?? str(d.error) ?? str(d.message);
  const why = reason ? `: ${reason}` : '';
  switch (e.event_type) {
    case 'discovered':
      return `Package discovered${str(d.path) ? ` at ${str(d.path)}` : ''}`;
    case 'registered':
      return `Registered${by(d)}`;
    case 'start_requested':
      if (d.cause === 'recovery') {
        const n = str(d.attempt);
        return `Restarted by recovery${n ? `, attempt ${n}` : ''}${str(d.trigger) ? ` (${label(str(d.trigger)!)})` : ''}`;
      }
      if (d.cause === 'autostart') return 'Started automatically with the AMS';
      return `Start requested${by(d)}`;
    case 'process_started':
      return `Process started${str(d.pid) ? ` (pid ${str(d.pid)})` : ''}`;
    case 'stop_requested':
      return `Stop requested${by(d)}`;
    case 'process_stopped':
      return `Stopped ${d.graceful === false ? 'forcibly' : 'gracefully'} (${exit(d)})`;
    case 'process_exited':
      return `Exited unexpectedly (${exit(d)})${reason ? `: ${reason}` : ''}`;
    case 'degraded':
      return `Degraded${why}`;
    case 'recovered':
      return `Recovered to running${why}`;
    case 'health_changed':
      return `Health ${e.from_status ?? '?'} → ${e.to_status ?? '?'}${why}`;
    case 'recovery_attempt': {
      const n = str(d.attempt) ?? str(d.attempt_number);
      const max = str(d.max_attempts);
      return `Recovery attempt${n ? ` ${n}${max ? ` of ${max}` : ''}` : ''}${str(d.trigger) ? ` (${str(d.trigger)})` : ''}`;
    }
    case 'recovery_succeeded':
      return 'Recovery succeeded';
    case 'recovery_failed':
      return `Recovery failed${why}`;
    case 'recovery_escalated':
      return `Recovery gave up and escalated${why}`;
    case 'config_applied':
      return `Configuration${str(d.version) ? ` version ${str(d.version)}` : ''} applied`;
    case 'config_rejected':
      return `Configuration${str(d.version) ? ` version ${str(d.version)}` : ''} rejected by the agent${why}`;
    case 'config_rolled_back':
      return `Configuration rolled back${str(d.version) ? ` to version ${str(d.version)}` : ''}${by(d)}`;
    case 'adopted':
      return `Running process adopted after an AMS restart${str(d.pid) ? ` (pid ${str(d.pid)})` : ''}`;
    case 'orphan_stopped':
      return `Orphaned process stopped${str(d.pid) ? ` (pid ${str(d.pid)})` : ''}`;
    default: {
      const words = e.event_type.replace(/_/g, ' ');
      return `${words.charAt(0).toUpperCase()}${words.slice(1)}${why}`;
    }
  }
}

/** The stderr lines an exit record carries (`process_exited` details `stderr_tail`); [] when none. */
export function stderrTailOf(details: Record<string, unknown> | null | undefined): string[] {
  const tail = details?.stderr_tail;
  return Array.isArray(tail) ? tail.filter((l): l is string => typeof l === 'string') : [];
}

/** A marker's colour: failures and exits red, starts and recoveries green, the rest neutral. */
export function markerTone(e: Pick<StatusHistoryEntry, 'event_type' | 'to_status'>): 'bad' | 'good' | 'neutral' {
  if (/exited|failed|escalated|rejected|degraded|rolled_back/.test(e.event_type) || e.to_status === 'failed' || e.to_status === 'critical') return 'bad';
  if (/process_started|recovered|succeeded|applied|adopted/.test(e.event_type)) return 'good';
  return 'neutral';
}

/** Whether a row is a process-state change (as opposed to health, recovery or config). */
export function isProcessTransition(e: Pick<StatusHistoryEntry, 'event_type'>): boolean {
  return !/^(health_|recovery_|config_)/.test(e.event_type);
}

/**
 * The row in effect at time `t` (seconds): the newest one at or before it. `rows` are newest
 * first, as the API answers.
 */
export function rowAt(rows: Array<Pick<StatusHistoryEntry, 'created_at'>>, t: number): number {
  for (let i = 0; i < rows.length; i++) if (Date.parse(rows[i].created_at) / 1000 <= t) return i;
  return -1;
}
