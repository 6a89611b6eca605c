/**
 * Helpers for pipeline tests: a central signer whose events reach Kafka through its relay, a
 * pipeline in this process on the real broker, scans produced with their headers, and a verdict
 * collector reading the `verdicts` topic.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { Relay } from '../../central/relay.ts';
import { kafkaPublisher } from '../../central/relay-kafka.ts';
import { type TestCentral, testCentral } from '../../central/testing.ts';
import type { Subscription } from '../../pipeline/bus/bus.ts';
import { KafkaBus } from '../../pipeline/bus/kafka.ts';
import { History } from '../../pipeline/history.ts';
import { type Topics, topics, type VerdictMessage } from '../../pipeline/messages.ts';
import { PipelineMetrics } from '../../pipeline/metrics.ts';
import { KeyRegistry } from '../../pipeline/registry.ts';
import { Pipeline, type Role } from '../../pipeline/run.ts';
import { envelopeJpeg } from '../../scanner-sim/envelope.ts';

export const SCAN_TIME = '2026-12-04T16:00:00.000Z';
export const ADDRESSES = {
  from: { name: 'Hill Country Books', street: '1201 W 6th St', cityLine: 'Austin TX 78703' },
  to: { name: 'Jane Appleseed', street: '350 Fifth Avenue', cityLine: 'New York NY 10001' },
};

export function envelope(payload: Uint8Array | undefined, paper = 238): Promise<Buffer> {
  return envelopeJpeg({ payload, origin: { city: 'Austin', state: 'TX' }, ...ADDRESSES, paper });
}

export function scanHeaders(scan_id: string, plant = 'PLANT-A', machine = 'DBCS-1', captured_at = SCAN_TIME) {
  return { scan_id, plant, machine, captured_at, content_type: 'image/jpeg' };
}

export interface Harness {
  central: TestCentral;
  relay: Relay;
  bus: KafkaBus;
  t: Topics;
  prefix: string;
  registry: KeyRegistry;
  history?: History;
  pipeline?: Pipeline;
  metrics: Registry;
  verdicts: Map<string, VerdictMessage[]>;
  /** Wait until every scan id has a verdict; returns the first verdict of each. */
  waitFor(ids: string[], timeoutMs?: number): Promise<Map<string, VerdictMessage>>;
  stop(): Promise<void>;
}

export async function harness(
  brokers: string,
  prefix: string,
  opts: { pipeline?: boolean; roles?: Role[] } = {},
): Promise<Harness> {
  const central = await testCentral();
  const t = topics(prefix);
  const pub = await kafkaPublisher([brokers], t.events);
  const relay = new Relay(central.store, pub.publish, 'kafka');
  relay.start();
  const bus = new KafkaBus({ brokers: [brokers], clientId: `test-${prefix}` });
  const registry = new KeyRegistry();
  let history: History | undefined;
  let pipeline: Pipeline | undefined;
  const metrics = new Registry();
  if (opts.pipeline ?? true) {
    history = await History.open(`chdb:${mkdtempSync(join(tmpdir(), 'sigpost-history-'))}`);
    pipeline = await Pipeline.start({
      bus,
      registry,
      metrics: new PipelineMetrics(metrics),
      maxImageBytes: 1024 * 1024,
      roles: opts.roles ?? ['read', 'verdict'],
      history,
      prefix,
      partitions: 4,
      readThreads: 2,
    });
  } else {
    await bus.ensureTopics([{ topic: t.verdicts, partitions: 4 }]);
  }
  const verdicts = new Map<string, VerdictMessage[]>();
  const sub: Subscription = await bus.subscribe({
    group: `${prefix}collector`,
    topics: [t.verdicts],
    fromBeginning: true,
    partitionsConcurrently: 4,
    onBatch: async (b) => {
      for (const m of b.messages) {
        const v = JSON.parse(m.value.toString()) as VerdictMessage;
        verdicts.set(v.scan_id, [...(verdicts.get(v.scan_id) ?? []), v]);
      }
    },
  });
  return {
    central,
    relay,
    bus,
    t,
    prefix,
    registry,
    history,
    pipeline,
    metrics,
    verdicts,
    async waitFor(ids, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (ids.some((id) => !verdicts.has(id))) {
        if (Date.now() > deadline)
          throw new Error(`no verdict for ${ids.filter((id) => !verdicts.has(id)).join(', ')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return new Map(ids.map((id) => [id, verdicts.get(id)![0]!]));
    },
    async stop() {
      await sub.stop();
      await pipeline?.stop();
      await relay.stop();
      await pub.close();
      await bus.close();
      await history?.close();
      await central.close();
    },
  };
}
