// Metric series (GET /agents/{id}/metrics, GET /metrics under /api/v1) and the Prometheus
// exposition (GET /metrics at the root, outside the versioned API).
import type { MetricsService } from '../../services/metrics.js';
import type { PrometheusExporter } from '../../monitoring/prometheus.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import { errorResponses } from '../common.js';
import { AgentIdParams } from '../agents/schema.js';
import { AgentSeriesSchema, FleetSeriesSchema, SeriesQuery } from './schema.js';

export function metricRoutes({ metrics }: { metrics: MetricsService }): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/agents/{id}/metrics',
      operationId: 'getAgentMetrics',
      permission: 'metrics:read',
      agentScoped: true,
      summary:
        "An agent's metric series bucketed server-side: gauges (cpu_percent, memory_mb, response_ms, ...) as the mean per bucket, " +
        'counters (events_processed, events_failed, disk_*_bytes, net_*_bytes) as a per-second rate, error_rate and processing_ms per processed event',
      tags: ['metrics'],
      params: AgentIdParams,
      query: SeriesQuery,
      responses: { 200: { description: 'Columnar series', schema: AgentSeriesSchema }, ...errorResponses(400, 401, 403, 404, 503) },
      handler: (_ctx, { params, query }) => metrics.agentSeries(params.id, query),
    }),
    defineRoute({
      method: 'get',
      path: '/metrics',
      operationId: 'getFleetMetrics',
      permission: 'metrics:read',
      summary:
        'Fleet-wide series: cpu_percent_avg, cpu_percent_max, memory_mb_total, memory_mb_max, events_processed_rate, events_failed_rate, error_rate, agents_reporting',
      tags: ['metrics'],
      query: SeriesQuery,
      responses: { 200: { description: 'Columnar series', schema: FleetSeriesSchema }, ...errorResponses(400, 401, 403, 503) },
      handler: (_ctx, { query }) => metrics.fleetSeries(query),
    }),
  ];
}

/** Routes at the root of the server (not under /api/v1): the Prometheus scrape target. */
export function prometheusRoutes({ prometheus }: { prometheus: PrometheusExporter }): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/metrics',
      operationId: 'prometheusMetrics',
      permission: 'metrics:read',
      rateLimit: 'health',
      summary: 'Prometheus text exposition (bearer token with metrics:read)',
      tags: ['metrics'],
      responses: { 200: { description: 'text/plain; version=0.0.4' }, ...errorResponses(401, 403, 503) },
      handler: async (ctx) => {
        const text = await prometheus.expose();
        ctx.type = prometheus.contentType;
        return text;
      },
    }),
  ];
}
