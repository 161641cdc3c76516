// What the tray and the menu say about the fleet: a level, a short label and a tooltip from
// the dashboard's health counts, and a small round status icon drawn as a bitmap.
import type { FleetCounts } from '../../src-preload/console-api.js';

export type FleetLevel = 'ok' | 'warning' | 'critical' | 'unknown' | 'empty' | 'disconnected';

export interface FleetIndicator {
  level: FleetLevel;
  /** For the menu item, e.g. "Fleet: 2 critical, 1 warning of 40". */
  label: string;
  /** For the tray tooltip. */
  tooltip: string;
}

/** The fleet's worst state wins; `null` counts mean no AMS is connected. */
export function fleetHealthIndicator(counts: FleetCounts | null): FleetIndicator {
  if (!counts) return { level: 'disconnected', label: 'Fleet: not connected', tooltip: 'OPMAS Console: not connected to an AMS' };
  const total = counts.healthy + counts.warning + counts.critical + counts.unknown;
  if (total === 0) return { level: 'empty', label: 'Fleet: no agents', tooltip: 'OPMAS Console: no agents registered' };
  const parts: string[] = [];
  if (counts.critical) parts.push(`${counts.critical} critical`);
  if (counts.warning) parts.push(`${counts.warning} warning`);
  if (counts.unknown) parts.push(`${counts.unknown} unknown`);
  const level: FleetLevel = counts.critical ? 'critical' : counts.warning ? 'warning' : counts.healthy ? 'ok' : 'unknown';
  const agents = `${total} agent${total === 1 ? '' : 's'}`;
  const label = parts.length === 0 ? `Fleet: all ${agents} healthy` : `Fleet: ${parts.join(', ')} of ${agents}`;
  return { level, label, tooltip: `OPMAS Console — ${label.slice('Fleet: '.length)}` };
}

/** Icon colours per level, as [r, g, b]. */
export const LEVEL_COLORS: Record<FleetLevel, [number, number, number]> = {
  ok: [0x2e, 0xa0, 0x43],
  warning: [0xd2, 0x99, 0x22],
  critical: [0xcf, 0x22, 0x2e],
  unknown: [0x8c, 0x95, 0x9f],
  empty: [0x8c, 0x95, 0x9f],
  disconnected: [0x57, 0x60, 0x6a],
};

/** A filled circle in the level's colour on a transparent square, as BGRA bytes (nativeImage.createFromBitmap). */
export function statusDotBitmap(level: FleetLevel, size = 16): { width: number; height: number; bgra: Buffer } {
  const [r, g, b] = LEVEL_COLORS[level];
  const bgra = Buffer.alloc(size * size * 4);
  const c = (size - 1) / 2;
  const radius = size / 2 - 1;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - c, y - c);
      // One pixel of anti-aliasing at the edge.
      const alpha = Math.round(255 * Math.max(0, Math.min(1, radius + 0.5 - d)));
      const i = (y * size + x) * 4;
      bgra[i] = Math.round((b * alpha) / 255); // premultiplied, as Skia expects
      bgra[i + 1] = Math.round((g * alpha) / 255);
      bgra[i + 2] = Math.round((r * alpha) / 255);
      bgra[i + 3] = alpha;
    }
  }
  return { width: size, height: size, bgra };
}
