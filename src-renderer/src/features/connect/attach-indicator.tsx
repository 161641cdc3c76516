// In the top bar of the desktop app, for an attach profile with several AMS URLs: which one the
// console is on, and that it failed over (with when and why in the tooltip and for screen readers).
import { useConsoleStore } from '../../store/context';
import { useNow } from '../common/use-now';
import { attachSummary } from './attach-state';

export function AttachIndicator() {
  const attach = useConsoleStore((s) => s.session.desktop?.attach ?? null);
  const now = useNow();
  const summary = attachSummary(attach, now);
  if (!summary || summary.position === null) return null;
  const detail = `On ${summary.url} (${summary.position})${summary.failover ? `; ${summary.failover}` : ''}`;
  return (
    <span className={`attach-url${summary.failedOver ? ' failed-over' : ''}`} data-testid="attach-url" title={detail}>
      on {summary.short}
      {summary.failedOver && <span className="attach-failover"> · failed over</span>}
      <span className="sr-only">. {detail}</span>
    </span>
  );
}
