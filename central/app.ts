/**
 * Composition of the central signer: store, signer, services and the HTTP front end. `buildCentral`
 * builds the real app; tests call it with the memory signer and a fake clock and use inject()
 * (STYLE point 11). server.ts adds listening, TLS and signals.
 */
import { join } from 'node:path';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { Accounts, hashApiKey } from './accounts.ts';
import { type Clock, systemClock } from './clock.ts';
import type { CentralConfig } from './config.ts';
import { adminRoutes } from './http/admin.ts';
import { installErrorHandling, ProblemSchema } from './http/problem.ts';
import { publicRoutes } from './http/public.ts';
import { installValidation } from './http/validation.ts';
import { Issuer } from './issuance.ts';
import { KeyManager } from './keys.ts';
import { loadRates } from './rates.ts';
import { Refunds } from './refunds.ts';
import { type PipelinedSigner, startSigner } from './signer.ts';
import { Store } from './store.ts';

export interface CentralDeps {
  config: CentralConfig;
  clock?: Clock;
  signer?: PipelinedSigner;
  registry?: Registry;
  /** Fastify logger option; default pino at config.logLevel. */
  logger?: FastifyServerOptions['logger'];
  https?: { cert: Buffer; key: Buffer };
}

export interface Services {
  config: CentralConfig;
  store: Store;
  signer: PipelinedSigner;
  clock: Clock;
  accounts: Accounts;
  keys: KeyManager;
  issuer: Issuer;
  refunds: Refunds;
  registry: Registry;
}

export interface Central extends Services {
  app: FastifyInstance;
  stopAccepting(): Promise<void>;
  close(): Promise<void>;
}

export const SECONDS_BUCKETS = [
  0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

export async function buildCentral(deps: CentralDeps): Promise<Central> {
  const { config } = deps;
  const clock = deps.clock ?? systemClock;
  const registry = deps.registry ?? new Registry();
  if (!deps.registry) collectDefaultMetrics({ register: registry });
  const store = new Store(join(config.dataDir, 'ledger.db'));
  const signer =
    deps.signer ??
    (await startSigner(config.signer, {
      passphrase: config.keyPassphrase,
      verifyAfterSign: config.verifyAfterSign,
      thread: config.signerThread,
    }));
  const rates = loadRates(config.ratesFile);

  const issued = new Counter({
    name: 'sigpost_indicia_issued_total',
    help: 'Indicia issued, by mail class.',
    labelNames: ['mail_class'],
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: 'sigpost_issue_batch_size',
    help: 'Pieces per issuance transaction (group commit).',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
    registers: [registry],
  });
  const commitSeconds = new Histogram({
    name: 'sigpost_issue_transaction_seconds',
    help: 'Time to run and commit one issuance transaction, signing included.',
    buckets: SECONDS_BUCKETS,
    registers: [registry],
  });

  const keys = new KeyManager(store, signer, clock, config.vendorId);
  const accounts = new Accounts(store, keys, clock, config.vendorId);
  const issuer = new Issuer(
    store,
    signer,
    rates,
    clock,
    {
      softwareId: config.softwareId,
      timeZone: config.timeZone,
      maxAdvanceDays: config.maxAdvanceDays,
      maxBatch: config.maxBatch,
    },
    {
      batch: (n, s) => {
        batchSize.observe(n);
        commitSeconds.observe(s);
      },
      issued: (c) => issued.inc({ mail_class: c }),
    },
  );
  const refunds = new Refunds(store, clock, config.refundWindowDays);
  const services: Services = { config, store, signer, clock, accounts, keys, issuer, refunds, registry };

  const app = Fastify({
    logger: deps.logger ?? { level: config.logLevel },
    // Normal operation is quiet: no line per request (STYLE point 12).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    ...(deps.https ? { https: deps.https } : {}),
  }).withTypeProvider<TypeBoxTypeProvider>();

  installErrorHandling(app);
  installValidation(app);
  app.removeContentTypeParser('text/plain'); // JSON only: anything else is 415
  app.addSchema(ProblemSchema);

  const httpSeconds = new Histogram({
    name: 'sigpost_http_request_duration_seconds',
    help: 'HTTP request latency by route and status.',
    labelNames: ['method', 'route', 'status_code'],
    buckets: SECONDS_BUCKETS,
    registers: [registry],
  });
  app.addHook('onResponse', async (req, reply) => {
    httpSeconds.observe(
      {
        method: req.method,
        route: req.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'sigpost central signer',
        version: '1',
        description:
          'Sells postage one mail piece at a time: accounts with descending and ascending registers, ' +
          'signed digital indicia (Ed25519, record format v1), barcodes, labels, refunds and the key registry. ' +
          'Errors are application/problem+json with a stable `code` (see ERRORS.md).',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'An account API key (sp_live_...).' },
          admin: { type: 'http', scheme: 'bearer', description: 'The admin token (SIGPOST_ADMIN_TOKEN).' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(rateLimit, {
    max: config.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: (req) => {
      const auth = req.headers.authorization;
      return auth?.startsWith('Bearer ')
        ? `k:${hashApiKey(auth.slice(7)).toString('base64')}`
        : `ip:${req.ip}`;
    },
    allowList: (req) => req.url === '/healthz' || req.url === '/metrics',
  });

  let closing = false;
  let httpClosed: Promise<void> | undefined;
  /** Stop taking requests and wait for those in flight (idempotent). */
  const stopAccepting = () => {
    closing = true;
    httpClosed ??= app.close();
    return httpClosed;
  };
  app.get('/healthz', { schema: { hide: true } }, async (_req, reply) => {
    if (closing) return reply.status(503).send({ status: 'closing' });
    if (signer.health) return reply.status(503).send({ status: 'signer unavailable', detail: signer.health });
    store.db.prepare('SELECT 1').get();
    return { status: 'ok' };
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });

  await app.register(adminRoutes(services), { prefix: '/v1/admin' });
  await app.register(publicRoutes(services), { prefix: '/v1' });
  await app.ready();

  return {
    ...services,
    app,
    stopAccepting,
    async close() {
      await stopAccepting();
      await issuer.close();
      store.close();
      signer.close();
    },
  };
}
