/** `sigpost sim run` (scanner feeds with ground truth) and `sigpost sim report` (accuracy). */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { Kafka, logLevel } from 'kafkajs';
import { dirSend, kafkaSend, runFeed, type Send } from './feed.ts';
import { accuracy, accuracyMarkdown, type SeenVerdict } from './report.ts';
import { loadMix, ScanGenerator, type Truth } from './scenarios.ts';
import { apiSource } from './source.ts';

const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
  return n;
};

export function simCommands(program: Command): void {
  const sim = program
    .command('sim')
    .description('Sorting-plant scanner simulator: feeds with ground truth, and accuracy reports');

  sim
    .command('run')
    .description('Produce scans of real indicia (bought from a central signer) at a rate, with ground truth')
    .option('--rate <n>', 'scans per second, all plants and machines together', num('--rate'))
    .option(
      '--per-machine <n>',
      'or: pieces per second per machine (rate = plants x machines x this)',
      num('--per-machine'),
    )
    .option('--duration <s>', 'seconds to run', num('--duration'))
    .option('--count <n>', 'scans to produce', num('--count'))
    .option('--api <url>', 'central signer to buy indicia from (or env SIGPOST_API)', process.env.SIGPOST_API)
    .option(
      '--key <key>',
      'its API key (or env SIGPOST_API_KEY); the account needs funds',
      process.env.SIGPOST_API_KEY,
    )
    .option('--kafka <host:port>', 'produce to the scans topic of this Kafka')
    .option('--topic-prefix <p>', 'prefix of the topic name', '')
    .option(
      '--out <dir>',
      'write the images and truth.jsonl here instead (or as well, with --kafka: truth only)',
    )
    .option('--mix <file>', 'scenario and damage weights (JSON; see scanner-sim/README.md)')
    .option('--plants <n>', 'plants', num('--plants'), 3)
    .option('--machines <n>', 'machines per plant', num('--machines'), 2)
    .option('--seed <n>', 'random seed (the same seed, the same mix and damage)', num('--seed'), 1)
    .option('--dpi <n>', 'scan resolution: 200 or 300', num('--dpi'), 200)
    .action(async (o) => {
      if (!o.api || !o.key)
        throw new InvalidArgumentError('--api and --key (a funded account of a central signer) are required');
      if (!o.kafka && !o.out) throw new InvalidArgumentError('give --kafka or --out (or both)');
      if ((o.rate === undefined) === (o.perMachine === undefined))
        throw new InvalidArgumentError('give --rate or --per-machine');
      const rate: number = o.rate ?? o.plants * o.machines * o.perMachine;
      if (o.duration === undefined && o.count === undefined)
        throw new InvalidArgumentError('give --duration or --count');
      const runId = `sim-${new Date()
        .toISOString()
        .replace(/[-:.TZ]/g, '')
        .slice(0, 14)}`;
      const generator = new ScanGenerator({
        source: apiSource(o.api, o.key),
        mix: loadMix(o.mix),
        seed: o.seed,
        plants: Array.from({ length: o.plants }, (_, i) => `PLANT-${String.fromCharCode(65 + i)}`),
        machines: Array.from({ length: o.machines }, (_, i) => `DBCS-${i + 1}`),
        dpi: o.dpi,
        runId,
      });
      let send: Send;
      let close = async () => {};
      let truthFile: string | undefined;
      if (o.kafka) {
        const k = await kafkaSend(String(o.kafka).split(','), `${o.topicPrefix}scans`);
        send = k.send;
        close = k.close;
        truthFile = join(o.out ?? '.', `${runId}.truth.jsonl`);
        mkdirSync(dirname(truthFile), { recursive: true });
      } else send = dirSend(o.out);
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      const tty = process.stderr.isTTY;
      const r = await runFeed({
        generator,
        send,
        rate,
        durationS: o.duration,
        count: o.count,
        signal: ac.signal,
        truth: truthFile ? (t) => appendFileSync(truthFile!, `${JSON.stringify(t)}\n`) : undefined,
        progress: (p) =>
          process.stderr.write(
            `${tty ? '\r\x1b[K' : ''}[${p.elapsedS.toFixed(0)}s] sent ${p.sent} | ${p.achievedRps.toFixed(1)}/s of ${p.targetRps}/s${p.behind ? ` | ${p.behind} behind (rendering)` : ''}${tty ? '' : '\n'}`,
          ),
      });
      await close();
      process.stderr.write(tty ? '\n' : '');
      process.stdout.write(
        `${JSON.stringify({ run: runId, sent: r.sent, seconds: Math.round(r.elapsedS * 10) / 10, achieved_rps: Math.round(r.achievedRps * 10) / 10, target_rps: rate, by_scenario: r.byScenario, truth: truthFile ?? join(o.out, 'truth.jsonl') })}\n`,
      );
    });

  sim
    .command('report')
    .description('Join verdicts with the ground truth: confusion matrix, read rates by damage, goals')
    .requiredOption('--truth <file>', 'truth JSON lines from `sim run`')
    .option(
      '--clickhouse <url>',
      "the pipeline's history: chdb:<dir> (not while the pipeline holds it) or http(s)://...",
    )
    .option('--kafka <host:port>', 'or read the verdicts topic from the beginning')
    .option('--topic-prefix <p>', 'prefix of the verdicts topic', '')
    .option('--out <dir>', 'write accuracy.json and accuracy.md here', '.')
    .action(async (o) => {
      const truth = readFileSync(o.truth, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Truth);
      const ids = truth.map((t) => t.scan_id);
      let verdicts: Map<string, SeenVerdict>;
      if (o.clickhouse) verdicts = await readClickHouse(o.clickhouse, ids);
      else if (o.kafka)
        verdicts = await readVerdictsTopic(
          String(o.kafka).split(','),
          `${o.topicPrefix}verdicts`,
          new Set(ids),
        );
      else throw new InvalidArgumentError('give --clickhouse or --kafka');
      const report = accuracy(truth, verdicts);
      mkdirSync(o.out, { recursive: true });
      writeFileSync(join(o.out, 'accuracy.json'), `${JSON.stringify(report, null, 2)}\n`);
      const md = accuracyMarkdown(report);
      writeFileSync(join(o.out, 'accuracy.md'), `${md}\n`);
      process.stdout.write(`${md}\n`);
      process.exitCode = report.all_goals_met ? 0 : 1;
    });
}

/** The authority's history, read directly (chDB in process, or a ClickHouse server). */
async function readClickHouse(url: string, ids: string[]): Promise<Map<string, SeenVerdict>> {
  const { createClient } = await import('@clickhouse/client');
  let client: ReturnType<typeof createClient>;
  if (url.startsWith('chdb:')) {
    const { createChdbConnection } = await import('chdb/connection');
    const connection = createChdbConnection({ path: url.slice(5) }) as unknown as NonNullable<
      Parameters<typeof createClient>[0]
    >['connection'];
    client = createClient({ connection });
  } else client = createClient({ url });
  try {
    const r = await client.query({
      query:
        'SELECT scan_id, verdict, reason FROM scans WHERE scan_id IN {ids:Array(String)} ORDER BY decided_at LIMIT 1 BY scan_id',
      query_params: { ids },
      format: 'JSONEachRow',
    });
    return new Map((await r.json<SeenVerdict>()).map((v) => [v.scan_id, v]));
  } finally {
    await client.close();
  }
}

/** Read the verdicts topic from the beginning until every wanted scan has one (or 30 s of quiet). */
async function readVerdictsTopic(
  brokers: string[],
  topic: string,
  wanted: Set<string>,
): Promise<Map<string, SeenVerdict>> {
  const kafka = new Kafka({ clientId: 'sigpost-sim-report', brokers, logLevel: logLevel.WARN });
  const consumer = kafka.consumer({ groupId: `sigpost-sim-report-${process.pid}-${Date.now()}` });
  const seen = new Map<string, SeenVerdict>();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let last = Date.now();
  await consumer.run({
    eachMessage: async ({ message }) => {
      const v = JSON.parse(message.value!.toString()) as SeenVerdict;
      if (wanted.has(v.scan_id) && !seen.has(v.scan_id)) seen.set(v.scan_id, v);
      last = Date.now();
    },
  });
  while (seen.size < wanted.size && Date.now() - last < 30_000) await new Promise((r) => setTimeout(r, 200));
  await consumer.disconnect();
  return seen;
}
