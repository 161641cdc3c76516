// Request and response schemas of the metric series (per agent and fleet-wide).
import { z } from 'zod';
import { repeated } from '../common.js';

export const SeriesQuery = z
  .object({
    from: z.string().max(64).optional().describe('Start (inclusive): ISO 8601 with a zone, or epoch ms. Default: one hour before `to`'),
    to: z.string().max(64).optional().describe('End (exclusive): ISO 8601 with a zone, or epoch ms. Default: now. At most 31 days after `from`'),
    step: z.string().max(32).optional().describe('Bucket width: seconds (10, 0.5) or 500ms, 10s, 5m, 1h, 1d. Default: a round step giving at most 1000 points; at most 2000 points are answered'),
    names: repeated(z.string().max(2000)).describe('Series to answer, comma-separated and/or repeated. Default: every series with data'),
  })
  .meta({ id: 'MetricSeriesQuery' });

export const SeriesMetaSchema = z
  .object({
    kind: z.enum(['gauge', 'counter']).describe('counter: the values are per-second rates of `unit` (shown as "<unit>/s"); gauge: values in `unit`'),
    unit: z.string().nullable().describe('Unit of the raw numbers, e.g. "%", "MiB", "bytes", "ms", "events"; null when unknown'),
  })
  .meta({ id: 'MetricSeriesMeta' });

const meta = z
  .record(z.string(), SeriesMetaSchema)
  .describe('Kind and unit of every series in the answer, by name. Declared by the agent for its own numbers (metrics message `meta`); undeclared numbers are gauges, except the counters the protocol names');

const columns = {
  from: z.string().describe('ISO 8601'),
  to: z.string().describe('ISO 8601'),
  step: z.number().describe('Bucket width in seconds'),
  t: z.array(z.number()).describe('Bucket start times, epoch ms, oldest first; buckets are aligned to multiples of the step'),
  meta,
};
const series = z.array(z.number().nullable()).describe('One value per bucket of `t`, null where the bucket has no data');

export const AgentSeriesSchema = z
  .object({ agent_id: z.string(), ...columns })
  .catchall(series)
  .meta({ id: 'AgentMetricSeries', description: 'Columnar series for uPlot: `t` and one array per metric name' });

export const FleetSeriesSchema = z
  .object(columns)
  .catchall(series)
  .meta({ id: 'FleetMetricSeries', description: 'Columnar fleet-wide series: `t` and one array per aggregate' });
