// Small pure rules of metrics and logs: warning levels stored beside samples, and which log
// levels a minimum level keeps.
import { describe, expect, it } from 'vitest';
import { warningThresholds } from '../../server/supervisor/resource-sampler.js';
import { levelsAtLeast } from '../../server/services/logs.js';
import { DEFAULT_THRESHOLDS } from '../../server/supervisor/health-rules.js';

describe('warningThresholds', () => {
  it('takes the configured warning level per metric over the defaults', () => {
    expect(warningThresholds({ cpu_percent: { warning: 50, critical: 90 } })).toEqual({ cpu_percent: 50, memory_mb: DEFAULT_THRESHOLDS.memory_mb!.warning });
    expect(warningThresholds(undefined)).toEqual({ cpu_percent: DEFAULT_THRESHOLDS.cpu_percent!.warning, memory_mb: DEFAULT_THRESHOLDS.memory_mb!.warning });
    expect(warningThresholds({ memory_mb: { warning: 'high' } }).memory_mb).toBe(DEFAULT_THRESHOLDS.memory_mb!.warning);
  });
});

describe('levelsAtLeast', () => {
  it('keeps the level and every more severe one, with their aliases', () => {
    expect(levelsAtLeast('ERROR')).toEqual(['ERROR', 'CRITICAL', 'FATAL']);
    expect(levelsAtLeast('WARNING')).toEqual(['WARNING', 'WARN', 'ERROR', 'CRITICAL', 'FATAL']);
    expect(levelsAtLeast('DEBUG')).toContain('INFO');
  });
});
