// Desktop notifications from the live stream: a raised alert is notified unless a silence covers
// it; a channel test always is; other events never.
import { describe, expect, it } from 'vitest';
import type { LiveEvent } from '../../../src-renderer/src/api/types';
import { desktopNotice } from '../../../src-renderer/src/store/desktop-notice';

const time = '2026-01-01T10:00:00Z';
const alert = { id: 7, rule: 'agent_failed', severity: 'critical' as const, title: 'WifiAgent failed', message: 'exit code 1', agent_id: 'wifi-1', silence_id: null };

describe('desktop notifications', () => {
  it('a raised alert is notified with its severity, title and agent', () => {
    expect(desktopNotice({ id: 1, time, type: 'alert.raised', alert } as LiveEvent)).toEqual({ id: '7', severity: 'critical', title: 'WifiAgent failed', message: 'exit code 1', agent_id: 'wifi-1' });
  });

  it('a silenced alert is recorded and shown, not notified', () => {
    expect(desktopNotice({ id: 2, time, type: 'alert.raised', alert: { ...alert, silence_id: 3 } } as LiveEvent)).toBeNull();
  });

  it('a channel test is notified, keyed by its event so that two tests are two notifications', () => {
    const test = { id: 9, time, type: 'alert.test', channel: 'desktop', alert: { id: 0, title: 'Test message', message: 'from admin', severity: 'info' as const } } as LiveEvent;
    expect(desktopNotice(test)).toEqual({ id: 'test-9', severity: 'critical', title: 'Test message', message: 'from admin' });
  });

  it('other alert events (acknowledged, resolved) and other families are not', () => {
    expect(desktopNotice({ id: 3, time, type: 'alert.acknowledged', alert } as LiveEvent)).toBeNull();
    expect(desktopNotice({ id: 4, time, type: 'alert.resolved', alert } as LiveEvent)).toBeNull();
    expect(desktopNotice({ id: 5, time, type: 'health.changed', agent_id: 'wifi-1', from: 'healthy', to: 'critical', reasons: [] } as LiveEvent)).toBeNull();
  });
});
