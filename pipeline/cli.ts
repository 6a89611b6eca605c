/** `sigpost pipeline run` (the workers on Kafka) and `sigpost verify` (the same stages in process). */
import { type Command, InvalidArgumentError, Option } from 'commander';
import pino from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { KafkaBus } from './bus/kafka.ts';
import { History } from './history.ts';
import { buildPipelineHttp } from './http.ts';
import { PipelineMetrics } from './metrics.ts';
import { KeyRegistry } from './registry.ts';
import { Pipeline, type Role } from './run.ts';
import { verifyFiles } from './verify-files.ts';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number`);
  return n;
};

export function pipelineCommands(program: Command): void {
  const pipeline = program.command('pipeline').description("The postal authority's verification pipeline");

  pipeline
    .command('run')
    .description(
      'Run pipeline workers on Kafka: read (scans -> scans.read), verdict (-> ClickHouse, verdicts)',
    )
    .requiredOption('--kafka <host:port>', 'Kafka bootstrap servers, comma-separated')
    .option(
      '--clickhouse <url>',
      'chdb:<dir> (in process) or http(s)://user:pass@host:8123/db; needed by the verdict role',
    )
    .option('--keys <url|file>', "a vendor's /v1/keys (or its base URL), or a JSON file with the same shape")
    .addOption(
      new Option('--role <role>', 'which stage to run').choices(['read', 'verdict', 'all']).default('all'),
    )
    .option('--read-threads <n>', 'read worker threads (default: one per core)', int('--read-threads'))
    .option('--partitions <n>', 'partitions of the topics this process creates', int('--partitions'), 8)
    .option(
      '--stale-days <n>',
      'a mailing date older than this many days before the scan is STALE_DATE',
      int('--stale-days'),
      10,
    )
    .option(
      '--max-image-bytes <n>',
      'larger scans go to scans.dead',
      int('--max-image-bytes'),
      8 * 1024 * 1024,
    )
    .option(
      '--port <n>',
      'HTTP port for /healthz, /metrics, /v1/stats, /v1/sightings (0 = none)',
      int('--port'),
      0,
    )
    .option('--host <addr>', 'address for --port', '127.0.0.1')
    .option('--topic-prefix <p>', 'prefix of topic and consumer group names', '')
    .action(async (o) => {
      const log = pino({ level: process.env.SIGPOST_LOG_LEVEL ?? 'info' });
      const roles: Role[] = o.role === 'all' ? ['read', 'verdict'] : [o.role];
      if (roles.includes('verdict') && !o.clickhouse)
        throw new InvalidArgumentError('--clickhouse is required for the verdict role');
      const registry = new KeyRegistry();
      if (o.keys) {
        const n = await registry.load(o.keys);
        log.info({ keys: n, refused: registry.refused.length }, 'keys loaded');
      }
      const history = o.clickhouse ? await History.open(o.clickhouse) : undefined;
      const prom = new Registry();
      collectDefaultMetrics({ register: prom });
      const metrics = new PipelineMetrics(prom);
      const bus = new KafkaBus({
        brokers: String(o.kafka).split(','),
        clientId: `sigpost-pipeline-${o.role}`,
        log: (level, msg, extra) => log[level as 'warn' | 'info']({ ...extra }, msg),
      });
      let ready = false;
      const http = o.port
        ? await buildPipelineHttp({ history, registry, metrics: prom, ready: () => ready })
        : undefined;
      if (http) await http.listen({ host: o.host, port: o.port });
      const p = await Pipeline.start({
        bus,
        registry,
        metrics,
        roles,
        history,
        readThreads: o.readThreads,
        partitions: o.partitions,
        maxImageBytes: o.maxImageBytes,
        prefix: o.topicPrefix,
        verify: { staleDays: o.staleDays, futureDays: 1 },
        log: (level, msg, extra) => log[level]({ ...extra }, msg),
      });
      ready = true;
      log.info(
        { roles, kafka: o.kafka, clickhouse: o.clickhouse, keys: registry.size, events: p.eventsApplied },
        'pipeline running',
      );
      process.stdout.write(
        `pipeline running: ${roles.join(' + ')}${http ? ` (http://${o.host}:${o.port}/metrics)` : ''}\n`,
      );
      let stopping = false;
      const stop = async (sig: string) => {
        if (stopping) process.exit(130);
        stopping = true;
        log.info(`${sig}: finishing batches in flight, then stopping`);
        await p.stop();
        await bus.close();
        await http?.close();
        await history?.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    });

  program
    .command('verify')
    .description('Read and verify mail-piece images in process (no Kafka); one JSON line per image')
    .argument('<images...>', 'JPEG, PNG or TIFF scans')
    .option('--data <dir>', 'folder of the scan history (chDB); shared across calls', './data/verify')
    .option(
      '--keys <url|file>',
      "a vendor's /v1/keys (or base URL), or a JSON file with the same shape (env SIGPOST_KEYS)",
      process.env.SIGPOST_KEYS,
    )
    .option('--events <url>', "a central signer's base URL: read its events feed for keys and refunds")
    .option(
      '--feed-token <token>',
      'bearer token for --events (env SIGPOST_FEED_TOKEN)',
      process.env.SIGPOST_FEED_TOKEN,
    )
    .option('--plant <id>', 'plant recorded with each sighting', 'cli')
    .option('--captured-at <time>', 'RFC 3339 scan time (default now)')
    .option('--stale-days <n>', 'STALE_DATE threshold in days', int('--stale-days'), 10)
    .option('--strict', 'exit 1 if any image is not VALID (verdicts are data: without it, exit 0)')
    .action(async (images: string[], o) => {
      let exit = 0;
      await verifyFiles(
        images,
        {
          dataDir: o.data,
          keys: o.keys,
          events: o.events,
          feedToken: o.feedToken,
          plant: o.plant,
          capturedAt: o.capturedAt,
          verify: { staleDays: o.staleDays, futureDays: 1 },
        },
        (v) => {
          if (o.strict && v.verdict !== 'VALID') exit = 1;
          process.stdout.write(`${JSON.stringify(v)}\n`);
        },
      );
      process.exitCode = exit;
    });
}
