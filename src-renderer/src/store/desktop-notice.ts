// Which live events become a desktop notification, and what it says: a raised alert unless a
// silence covers it (it is recorded and shown in the console, never notified), and a channel test.
import type { AlertEvent } from '../desktop-bridge';
import type { LiveEvent } from '../api/types';

export function desktopNotice(e: LiveEvent): AlertEvent | null {
  if (e.type !== 'alert.raised' && e.type !== 'alert.test') return null;
  if (e.type === 'alert.raised' && e.alert.silence_id) return null;
  const a = e.alert;
  return {
    id: e.type === 'alert.test' ? `test-${e.id}` : String(a.id),
    severity: e.type === 'alert.test' ? 'critical' : (a.severity ?? 'warning'),
    title: a.title ?? a.rule ?? 'Alert',
    message: a.message ?? '',
    ...(a.agent_id ? { agent_id: a.agent_id } : {}),
  };
}
