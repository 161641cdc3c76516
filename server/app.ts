// createApp(deps) builds the Koa application: middleware order, the /api/v1 router, the
// OpenAPI document and the web console. It does not listen; main.ts and tests do.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Koa, { type Context, type Next } from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import serveStatic from 'koa-static';
import type { Logger } from 'pino';
import { errorHandler, BODY_LIMIT_BYTES } from './http/errors.js';
import { apiVersioning, CURRENT_API_VERSION } from './http/versioning.js';
import { mountRoutes, type RouteGuard, type RouteSpec } from './http/route.js';
import { buildOpenApi } from './http/openapi.js';
import { withImplicitResponses } from './api/common.js';
import { agentRoutes } from './api/agents/routes.js';
import { configRoutes } from './api/config/routes.js';
import { healthRoutes } from './api/health/routes.js';
import { authRoutes } from './api/auth/routes.js';
import { identityRoutes } from './api/identities/routes.js';
import type { Security } from './security/index.js';
import { corsPolicy, securityHeaders } from './security/headers.js';
import { clientAddressMiddleware } from './security/client-address.js';
import type { AgentService } from './services/agents.js';
import type { ConfigService } from './services/config.js';
import type { HealthService } from './services/health.js';
import type { RegistrationService } from './services/registration.js';
import type { PackageService } from './services/packages.js';
import type { HostService } from './services/hosts.js';
import { hostRoutes } from './api/hosts/routes.js';
import type { ConfigChanges } from './api/config/routes.js';
import type { CredentialsService } from './services/credentials.js';
import type { Ingest } from './monitoring/ingest.js';
import type { EventBus } from './events/bus.js';
import { packageRoutes } from './api/packages/routes.js';
import { alertRoutes } from './api/alerts/routes.js';
import { silenceRoutes } from './api/silences/routes.js';
import { stateCountRoutes } from './api/state-counts/routes.js';
import type { StateCountsService } from './services/state-counts.js';
import { notificationChannelRoutes } from './api/notification-channels/routes.js';
import type { AlertService } from './alerts/service.js';
import type { ChannelService } from './alerts/channel-service.js';
import { metricRoutes, prometheusRoutes } from './api/metrics/routes.js';
import { logRoutes } from './api/logs/routes.js';
import type { MetricsService } from './services/metrics.js';
import type { LogService } from './services/logs.js';
import type { Retention } from './monitoring/retention.js';
import type { Rollups } from './monitoring/rollups.js';
import type { PrometheusExporter } from './monitoring/prometheus.js';
import { lifecycleRoutes } from './api/lifecycle/routes.js';
import { recoveryRoutes } from './api/recovery/routes.js';
import type { StatusService } from './services/status.js';
import type { LifecycleService } from './services/lifecycle.js';
import type { RecoveryService } from './services/recovery.js';

export const API_BASE = `/api/v${CURRENT_API_VERSION}`;

export interface Services {
  agents: AgentService;
  config: ConfigService;
  health: HealthService;
  registration: RegistrationService;
  /** What each host's supervisor found on disk, and rescans. */
  packages: PackageService;
  hosts: HostService;
  credentials: CredentialsService;
  ingest: Ingest;
  /** Everything that happens, for the live stream, alert rules and notifications. */
  events: EventBus;
  alerts: AlertService;
  notificationChannels: ChannelService;
  /** Bucketed metric series (per agent and fleet-wide). */
  metrics: MetricsService;
  logs: LogService;
  retention: Retention;
  /** The metric rollup job (1-minute, 5-minute, 1-hour aggregates). */
  rollups: Rollups;
  prometheus: PrometheusExporter;
  /** The only writer of process, health and recovery status; status history. */
  status: StatusService;
  /** Operator intents (start, stop, restart, recover, apply config) and the views of what is. */
  lifecycle: LifecycleService;
  /** What configuration changes mean for the hosts. */
  configChanges: ConfigChanges;
  recovery: RecoveryService;
  /** The fleet's counts by status over time (the console's fleet overview). */
  stateCounts: StateCountsService;
}

export interface AppDeps {
  logger: Logger;
  services: Services;
  /** Authentication, authorization, audit and rate limits: every app the product runs has them. */
  security: Security;
  version: string;
  /** Built web console to serve at `/`, when present. */
  staticDir?: string;
  /** Middleware run after error mapping and before routing (e.g. the schema-ready gate). */
  gates?: Koa.Middleware[];
}

/** Every API route; `security` is what the auth, user, role, token and audit routes run on. */
export function apiRoutes(services: Services, security?: Security): RouteSpec[] {
  return [
    ...healthRoutes(services),
    ...(security ? [...authRoutes(security), ...identityRoutes(security)] : []),
    ...agentRoutes(services),
    ...configRoutes(services),
    ...packageRoutes(services),
    ...alertRoutes(services),
    ...silenceRoutes(services),
    ...notificationChannelRoutes({ channels: services.notificationChannels, alerts: services.alerts }),
    ...metricRoutes(services),
    ...logRoutes(services),
    ...lifecycleRoutes(services),
    ...recoveryRoutes(services),
    ...hostRoutes(services),
    ...stateCountRoutes(services),
  ].map(withImplicitResponses);
}

/** Routes outside /api/v1 (same guard): the Prometheus exposition at /metrics. */
export function rootRoutes(services: Services): RouteSpec[] {
  return prometheusRoutes(services);
}

/** The /api/v1 router with each route mounted behind the guard (when one is given). */
export function apiRouter(routes: RouteSpec[], version: string, guard?: RouteGuard): Router {
  const router = new Router({ prefix: API_BASE });
  mountRoutes(router, routes, guard);
  let openApiDocument: object | undefined;
  router.get('/openapi.json', (ctx) => {
    openApiDocument ??= buildOpenApi(routes, { version, basePath: API_BASE });
    ctx.body = openApiDocument;
  });
  return router;
}

/** Middleware every app runs before its routes, in order. */
export function baseMiddleware(logger: Logger): Koa.Middleware[] {
  return [requestContext(logger), errorHandler(logger), apiVersioning()];
}

export const jsonBody = () => bodyParser({ enableTypes: ['json'], jsonLimit: BODY_LIMIT_BYTES, encoding: 'utf-8' });

export function createApp(deps: AppDeps): { app: Koa; routes: RouteSpec[]; router: Router } {
  const app = new Koa();
  app.silent = true;
  app.proxy = false;
  const routes = apiRoutes(deps.services, deps.security);
  const router = apiRouter(routes, deps.version, deps.security.guard);

  // First: the audit log, the rate limits and the services all read ctx.ip.
  app.use(clientAddressMiddleware(deps.security.trustedProxies));
  app.use(securityHeaders());
  const cors = corsPolicy(deps.security.corsOrigins);
  if (cors) app.use(cors);
  for (const m of baseMiddleware(deps.logger)) app.use(m);
  for (const gate of deps.gates ?? []) app.use(gate);
  app.use(deps.security.limits.middleware());
  app.use(jsonBody());
  app.use(router.routes());
  app.use(router.allowedMethods());
  const root = new Router();
  mountRoutes(root, rootRoutes(deps.services), deps.security.guard);
  app.use(root.routes());
  if (deps.staticDir && fs.existsSync(path.join(deps.staticDir, 'index.html'))) app.use(webConsole(deps.staticDir));
  return { app, routes, router };
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Correlation id per request (taken from X-Request-Id when sane) and one debug log line. */
function requestContext(logger: Logger) {
  return async function context(ctx: Context, next: Next): Promise<void> {
    const given = ctx.get('X-Request-Id');
    ctx.state.requestId = REQUEST_ID.test(given) ? given : randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId);
    const started = performance.now();
    try {
      await next();
    } finally {
      if (logger.isLevelEnabled('debug')) {
        logger.debug(
          { requestId: ctx.state.requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round((performance.now() - started) * 100) / 100 },
          'request',
        );
      }
    }
  };
}

/** The console's static files, with index.html for client-side routes outside /api. */
function webConsole(dir: string) {
  const files = serveStatic(dir, { index: 'index.html', maxage: 0, gzip: false, brotli: false });
  return async function serveConsole(ctx: Context, next: Next): Promise<void> {
    if (ctx.path.startsWith('/api/') || ctx.path === '/api' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    await files(ctx, async () => {
      if (!path.extname(ctx.path)) {
        ctx.type = 'html';
        ctx.body = fs.createReadStream(path.join(dir, 'index.html'));
      }
    });
    if (ctx.body === undefined) await next();
  };
}
