// Process, health and recovery states as badges: a word and a colour, never colour alone.
import { label } from './format';

export type BadgeKind = 'process' | 'health' | 'recovery' | 'severity' | 'alert' | 'package' | 'host' | 'desired';

export function Badge({ kind, value, title }: { kind: BadgeKind; value: string; title?: string }) {
  return (
    <span className={`badge badge-${kind} badge-${kind}-${value}`} title={title} data-state={value}>
      {label(value)}
    </span>
  );
}
