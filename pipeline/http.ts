/**
 * The pipeline's HTTP side: health, Prometheus metrics, verdict counts, and the investigator's
 * queries over the scan history (every sighting of a piece; the latest duplicates and forgeries).
 */
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { Registry } from 'prom-client';
import type { History } from './history.ts';
import type { KeyRegistry } from './registry.ts';
import { VERDICTS } from './verify.ts';

export interface PipelineHttpDeps {
  history?: History | undefined;
  registry: KeyRegistry;
  metrics: Registry;
  ready: () => boolean;
  /** The scanned image of a sighting, where this process keeps them (the evidence). */
  image?: ((scanId: string) => Buffer | undefined) | undefined;
}

const problem = (status: number, code: string, detail: string) => ({
  type: `urn:sigpost:problem:${code}`,
  title: detail,
  status,
  code,
  detail,
});

export async function buildPipelineHttp(d: PipelineHttpDeps, logger = false): Promise<FastifyInstance> {
  const app = Fastify({ logger, logController: new LogController({ disableRequestLogging: true }) });
  app.setNotFoundHandler((req, reply) =>
    reply
      .status(404)
      .type('application/problem+json')
      .send(problem(404, 'not_found', `no route ${req.method} ${req.url}`)),
  );
  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
    return reply
      .status(status)
      .type('application/problem+json')
      .send(
        problem(
          status,
          status === 500 ? 'internal' : 'invalid_request',
          status === 500 ? 'internal error' : err.message,
        ),
      );
  });
  app.get('/healthz', async (_req, reply) =>
    d.ready() ? { status: 'ok', keys: d.registry.size } : reply.status(503).send({ status: 'starting' }),
  );
  app.get('/metrics', async (_req, reply) =>
    reply.type(d.metrics.contentType).send(await d.metrics.metrics()),
  );
  app.get('/v1/stats', async () => {
    const counts = d.history ? await d.history.verdictCounts() : {};
    return {
      verdicts: Object.fromEntries(VERDICTS.map((v) => [v, counts[v] ?? 0])),
      keys: d.registry.size,
      voided: d.registry.voidedCount,
    };
  });
  app.get<{ Params: { meter: string; serial: string } }>(
    '/v1/sightings/:meter/:serial',
    async (req, reply) => {
      const serial = Number(req.params.serial);
      if (!/^\d{10}$/.test(req.params.meter) || !Number.isInteger(serial) || serial < 1) {
        return reply
          .status(400)
          .type('application/problem+json')
          .send(problem(400, 'invalid_request', 'meter is 10 digits, serial a positive integer'));
      }
      if (!d.history)
        return reply
          .status(503)
          .type('application/problem+json')
          .send(problem(503, 'unavailable', 'no history in this process'));
      const sightings = await d.history.sightings(req.params.meter, serial);
      return { meter: req.params.meter, serial, used: sightings.some((s) => s.genuine === 1), sightings };
    },
  );
  app.get<{ Querystring: { verdict?: string; limit?: string } }>('/v1/flagged', async (req, reply) => {
    if (!d.history)
      return reply
        .status(503)
        .type('application/problem+json')
        .send(problem(503, 'unavailable', 'no history in this process'));
    const wanted = (req.query.verdict ?? 'DUPLICATE,FORGED')
      .split(',')
      .filter((v) => (VERDICTS as readonly string[]).includes(v));
    const limit = Math.min(Math.max(Number(req.query.limit ?? 50) || 50, 1), 1000);
    return { sightings: await d.history.latest(wanted, limit) };
  });
  app.get<{ Params: { scanId: string } }>('/v1/scans/:scanId/image.jpg', async (req, reply) => {
    const img = d.image?.(req.params.scanId);
    if (!img)
      return reply
        .status(404)
        .type('application/problem+json')
        .send(problem(404, 'not_found', 'no image kept for this scan'));
    return reply.type('image/jpeg').header('cache-control', 'private, max-age=3600').send(img);
  });
  return app;
}
