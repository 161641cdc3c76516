// "12 s ago", re-rendered each second by the shared clock; the exact time in the tooltip.
import { dateTime, relativeTime } from './format';
import { useNow } from './use-now';

export function RelativeTime({ iso, className }: { iso: string | null | undefined; className?: string }) {
  const now = useNow();
  return (
    <time className={className} dateTime={iso ?? undefined} title={iso ? dateTime(iso) : undefined}>
      {relativeTime(iso, now)}
    </time>
  );
}
