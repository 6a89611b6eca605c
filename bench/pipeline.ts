/**
 * Pipeline benchmarks (npm run bench -- pipeline), on a reference image set: envelopes of
 * 1900 x 850 px at 200 dpi, greyscale JPEG at quality 75, each with its own genuine indicium.
 *   (a) the read limit: images per second per core through sharp + zxing alone, for several zxing
 *       option sets; the fastest that still reads >= 99.5% is the reference;
 *   (b) the whole pipeline through the real Kafka broker (read + verdict + ClickHouse) on this machine;
 *   (c) latency from scan produced to verdict received, at half of (b)'s rate;
 *   (d) Debian's native ZXingReader (zxing-cpp) on the same images, one core, side by side.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { Registry } from 'prom-client';
import { testCentral } from '../central/testing.ts';
import type { ReadOptions } from '../indicium/barcode/index.ts';
import { KafkaBus } from '../pipeline/bus/kafka.ts';
import { History } from '../pipeline/history.ts';
import { topics, type VerdictMessage } from '../pipeline/messages.ts';
import { PipelineMetrics } from '../pipeline/metrics.ts';
import { ReadPool } from '../pipeline/read/pool.ts';
import { ATTEMPTS, type Attempt } from '../pipeline/read/read.ts';
import { KeyRegistry } from '../pipeline/registry.ts';
import { Pipeline } from '../pipeline/run.ts';
import { envelopeJpeg } from '../scanner-sim/envelope.ts';
import { type Figure, figure, type Progress, percentile } from './stats.ts';

const BROKER = join(import.meta.dirname, '..', 'test', 'kafka', 'broker.sh');
const PORT = 19292;
const brokerEnv = {
  ...process.env,
  SIGPOST_KAFKA_PORT: String(PORT),
  SIGPOST_KAFKA_CONTROLLER_PORT: String(PORT + 1),
  SIGPOST_KAFKA_STATE: `/tmp/sigpost-kafka-bench-${PORT}`,
};

export interface PipelineBench {
  images: number;
  image_bytes_mean: number;
  read_limit: { options: string; images_per_s_per_core: Figure; read_rate: number; cores_used: number }[];
  reference: { options: string; images_per_s_per_core: number };
  pipeline: { cores: number; scans: number; scans_per_s: Figure; ratio_to_read_limit_x_cores: number };
  latency: { rate: number; scans: number; p50_ms: number; p90_ms: number; p99_ms: number; max_ms: number };
  zxing_cpp: { images_per_s: Figure; read_rate: number };
}

const both = ['pdf417', 'datamatrix'] as ReadOptions['formats'];
const OPTION_SETS: { name: string; attempts: Attempt[] }[] = [
  { name: 'cascade: PDF417 fast, then both tryHarder, then whole image (default)', attempts: ATTEMPTS },
  {
    name: 'one pass, both symbologies, tryHarder, then whole image',
    attempts: [
      {
        region: 'indicium-area',
        zxing: { formats: both, tryHarder: true, tryRotate: true, tryDownscale: false },
      },
      { region: 'whole', zxing: { formats: both, tryHarder: true, tryRotate: true, tryDownscale: false } },
    ],
  },
  {
    name: 'one pass, both symbologies, no tryHarder, then whole image',
    attempts: [
      {
        region: 'indicium-area',
        zxing: { formats: both, tryHarder: false, tryRotate: false, tryDownscale: false },
      },
      { region: 'whole', zxing: { formats: both, tryHarder: true, tryRotate: true, tryDownscale: false } },
    ],
  },
  {
    name: 'cascade with the GlobalHistogram binarizer first',
    attempts: [
      {
        region: 'indicium-area',
        zxing: {
          formats: ['pdf417'],
          tryHarder: false,
          tryRotate: false,
          tryDownscale: false,
          binarizer: 'GlobalHistogram',
        },
      },
      ...ATTEMPTS.slice(1),
    ],
  },
];

export async function benchPipeline(
  progress: Progress,
  opts: { quick?: boolean; runs?: number } = {},
): Promise<PipelineBench> {
  const runs = opts.runs ?? (opts.quick ? 3 : 5);
  const cores = availableParallelism();
  const nImages = opts.quick ? 60 : 200;

  // The reference image set: real indicia from a central signer, printed on envelopes.
  const central = await testCentral();
  const acct = await central.createAccount('Bench Mailer', '78703');
  await central.fund(acct.id, 10_000_000);
  const images: Buffer[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'sigpost-bench-images-'));
  mkdirSync(dir, { recursive: true });
  const render = pLimit(cores);
  let made = 0;
  const keysJson = (await central.app.inject({ url: '/v1/keys' })).json();
  const payloads: string[] = [];
  for (let i = 0; i < nImages; i++)
    payloads.push(
      (
        await central.buy(acct.api_key, {
          mail_class: i % 5 === 0 ? 'flat' : 'letter',
          weight_oz: 1 + (i % 3),
        })
      ).body.payload,
    );
  const capturedDay = (await central.account(acct.api_key)).created_at.slice(0, 10);
  await central.close();
  await Promise.all(
    payloads.map((p, i) =>
      render(async () => {
        const jpg = await envelopeJpeg(
          {
            payload: new Uint8Array(Buffer.from(p, 'base64')),
            origin: { city: 'Austin', state: 'TX' },
            from: { name: 'Hill Country Books', street: `${100 + i} W 6th St`, cityLine: 'Austin TX 78703' },
            to: { name: `Customer ${i}`, street: `${i + 1} Fifth Avenue`, cityLine: 'New York NY 10001' },
            paper: 226 + (i % 20),
          },
          75,
        );
        images[i] = jpg;
        writeFileSync(join(dir, `env-${String(i).padStart(4, '0')}.jpg`), jpg);
        if (++made % 20 === 0) progress(`pipeline: rendering the image set ${made}/${nImages}`);
      }),
    ),
  );
  const meanBytes = Math.round(images.reduce((a, b) => a + b.length, 0) / images.length);

  // (a) The read limit, one thread (per core), for each option set.
  const readLimit: PipelineBench['read_limit'] = [];
  for (const set of OPTION_SETS) {
    // One thread, one image at a time: one core (the CPU time per wall second is reported).
    const pool = new ReadPool(1, { maxPixels: 40_000_000, attempts: set.attempts }, 1);
    await Promise.all(images.slice(0, 10).map((im) => pool.run(im))); // warm-up
    const rates: number[] = [];
    const coresUsed: number[] = [];
    let ok = 0;
    for (let r = 0; r < runs; r++) {
      progress(`pipeline: read limit, "${set.name}", run ${r + 1}/${runs}`);
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const results = await Promise.all(images.map((im) => pool.run(im)));
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(c0);
      coresUsed.push((cpu.user + cpu.system) / 1000 / wall);
      rates.push(images.length / (wall / 1000));
      ok = results.filter((x) => x.outcome === 'decoded').length;
    }
    await pool.close();
    readLimit.push({
      options: set.name,
      images_per_s_per_core: figure(rates),
      read_rate: ok / images.length,
      cores_used: figure(coresUsed).median,
    });
  }
  const eligible = readLimit
    .filter((r) => r.read_rate >= 0.995)
    .sort((a, b) => b.images_per_s_per_core.median - a.images_per_s_per_core.median);
  const best = eligible[0] ?? readLimit[0]!;
  const bestSet = OPTION_SETS.find((s) => s.name === best.options)!;

  // (d) zxing-cpp, natively, one process over the whole set.
  const zxRates: number[] = [];
  let zxOk = 0;
  const files = images.map((_, i) => join(dir, `env-${String(i).padStart(4, '0')}.jpg`));
  for (let r = 0; r < runs; r++) {
    progress(`pipeline: ZXingReader (native zxing-cpp), run ${r + 1}/${runs}`);
    const t0 = performance.now();
    const out = execFileSync('ZXingReader', ['-1', '-format', 'PDF417', ...files], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    zxRates.push(files.length / ((performance.now() - t0) / 1000));
    zxOk = out.split('\n').filter((l) => /PDF417/.test(l)).length;
  }

  // (b) and (c): the whole pipeline through the broker.
  progress('pipeline: starting the Kafka broker');
  const brokers = execFileSync(BROKER, ['start'], { env: brokerEnv, encoding: 'utf8' })
    .trim()
    .split('\n')
    .pop()!;
  const work = mkdtempSync(join(tmpdir(), 'sigpost-bench-pipeline-'));
  try {
    const rates: number[] = [];
    const scansPerRun = opts.quick ? 600 : nImages * 10;
    for (let r = 0; r < runs; r++) {
      progress(`pipeline: whole pipeline through Kafka, run ${r + 1}/${runs} (${scansPerRun} scans)`);
      const res = await pipelineRun(
        brokers,
        join(work, `run-${r}`),
        keysJson,
        images,
        scansPerRun,
        bestSet.attempts,
        capturedDay,
      );
      rates.push(res.rate);
    }
    const scansPerS = figure(rates);
    const half = Math.max(1, Math.round(scansPerS.median / 2));
    progress(`pipeline: latency at ${half} scans/s (half the measured rate)`);
    const lat = await pipelineRun(
      brokers,
      join(work, 'latency'),
      keysJson,
      images,
      half * (opts.quick ? 10 : 30),
      bestSet.attempts,
      capturedDay,
      half,
    );
    return {
      images: images.length,
      image_bytes_mean: meanBytes,
      read_limit: readLimit,
      reference: { options: best.options, images_per_s_per_core: best.images_per_s_per_core.median },
      pipeline: {
        cores,
        scans: scansPerRun,
        scans_per_s: scansPerS,
        ratio_to_read_limit_x_cores:
          Math.round((scansPerS.median / (best.images_per_s_per_core.median * cores)) * 100) / 100,
      },
      latency: {
        rate: half,
        scans: lat.n,
        p50_ms: lat.p50,
        p90_ms: lat.p90,
        p99_ms: lat.p99,
        max_ms: lat.max,
      },
      zxing_cpp: { images_per_s: figure(zxRates), read_rate: zxOk / files.length },
    };
  } finally {
    try {
      execFileSync(BROKER, ['stop', '--clean'], { env: brokerEnv, stdio: 'ignore' });
    } catch {}
    rmSync(work, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One pipeline run on fresh topics. Without `rate`, all scans are produced first and the rate is
 * the time from the first to the last verdict. With `rate`, scans are produced evenly paced and
 * each latency runs from its produce call to its verdict's arrival.
 */
export async function pipelineRun(
  brokers: string,
  dataDir: string,
  keys: { keys: unknown[] },
  images: Buffer[],
  n: number,
  attempts: Attempt[],
  day: string,
  rate?: number,
  prom: Registry = new Registry(),
): Promise<{ rate: number; n: number; p50: number; p90: number; p99: number; max: number }> {
  const prefix = `bench-${Date.now()}-`;
  const t = topics(prefix);
  // The sorting machines' producer and the diverter's reader are not the pipeline: own clients.
  const bus = new KafkaBus({ brokers: [brokers], clientId: 'bench-feed' });
  const pipelineBus = new KafkaBus({ brokers: [brokers], clientId: 'bench-pipeline' });
  const registry = new KeyRegistry();
  for (const k of keys.keys) registry.put(k as never);
  mkdirSync(dataDir, { recursive: true });
  const history = await History.open(`chdb:${dataDir}`);
  await bus.ensureTopics([
    { topic: t.scans, partitions: 8 },
    { topic: t.verdicts, partitions: 8 },
  ]);
  const sentAt = new Map<string, number>();
  const arrived = new Map<string, number>();
  const collector = await bus.subscribe({
    group: `${prefix}collector`,
    topics: [t.verdicts],
    fromBeginning: true,
    partitionsConcurrently: 8,
    onBatch: async (b) => {
      const now = performance.now();
      for (const m of b.messages) {
        const v = JSON.parse(m.value.toString()) as VerdictMessage;
        if (!arrived.has(v.scan_id)) arrived.set(v.scan_id, now);
      }
    },
  });
  const msg = (i: number) => {
    const id = `${prefix}${i}`;
    return {
      key: id,
      value: images[i % images.length]!,
      headers: {
        scan_id: id,
        plant: `PLANT-${i % 4}`,
        machine: 'DBCS-1',
        captured_at: `${day}T12:00:00.000Z`,
        content_type: 'image/jpeg',
      },
    };
  };
  let pipeline: Pipeline | undefined;
  const startPipeline = () =>
    Pipeline.start({
      bus: pipelineBus,
      registry,
      history,
      metrics: new PipelineMetrics(prom),
      roles: ['read', 'verdict'],
      prefix,
      partitions: 8,
      limits: { maxPixels: 40_000_000, attempts },
      followEvents: false,
    });
  let spanS = Number.NaN;
  try {
    if (rate === undefined) {
      for (let i = 0; i < n; i += 100)
        await bus.send(
          t.scans,
          Array.from({ length: Math.min(100, n - i) }, (_, j) => msg(i + j)),
        );
      pipeline = await startPipeline();
    } else {
      pipeline = await startPipeline();
      await new Promise((r) => setTimeout(r, 2000)); // let the consumer groups settle
      // Warm-up: 3 s at the rate, not measured (JIT, first ClickHouse parts, fetch sessions).
      const warm = Math.round(rate * 3);
      const w0 = performance.now();
      for (let i = 0; i < warm; i++) {
        const wait = w0 + (i * 1000) / rate - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        void bus.send(t.scans, [msg(n + i)]);
      }
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const due = t0 + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const m = msg(i);
        sentAt.set(m.key, performance.now());
        void bus.send(t.scans, [m]);
      }
    }
    const deadline = Date.now() + 300_000;
    const expected = rate === undefined ? n : n + Math.round(rate * 3);
    while (arrived.size < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (arrived.size < expected) throw new Error(`only ${arrived.size} of ${expected} verdicts arrived`);
    // The run's span, from the pipeline's own records: the first image's read began, the last
    // verdict was decided (consumer-group start-up excluded, pre-produced backlog included).
    const q = await history.client.query({
      query:
        'SELECT toUnixTimestamp64Milli(min(read_at)) - toUInt64(argMin(read_ms, read_at)) AS t0, toUnixTimestamp64Milli(max(decided_at)) AS t1 FROM scans',
      format: 'JSONEachRow',
    });
    const [row] = await q.json<{ t0: number; t1: number }>();
    spanS = (Number(row!.t1) - Number(row!.t0)) / 1000;
  } finally {
    await collector.stop();
    await pipeline?.stop();
    await bus.close();
    await pipelineBus.close();
    await history.close();
  }
  const lat = [...sentAt].map(([id, s]) => arrived.get(id)! - s).sort((a, b) => a - b);
  const r2 = (x: number) => Math.round(x * 10) / 10;
  return {
    rate: n / spanS,
    n,
    p50: r2(percentile(lat, 50)),
    p90: r2(percentile(lat, 90)),
    p99: r2(percentile(lat, 99)),
    max: r2(lat[lat.length - 1] ?? Number.NaN),
  };
}
