/**
 * Restart safety: 3,000 scans of 3,000 different genuine indicia go through `sigpost pipeline run`
 * (its own process, on the real broker and chDB); the worker is killed with kill -9 in the middle
 * and started again. Every scan must end with exactly one verdict, VALID (so no false DUPLICATE
 * from a batch replayed after the crash), in ClickHouse once, and on `verdicts`.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { describe, expect, it } from 'vitest';
import { KafkaBus } from '../pipeline/bus/kafka.ts';
import { History } from '../pipeline/history.ts';
import { topics, type VerdictMessage } from '../pipeline/messages.ts';
import { fastEnvelopes } from '../scanner-sim/fast.ts';
import { kafka, prefix } from './helpers/kafka.ts';
import { ADDRESSES, scanHeaders } from './helpers/pipeline.ts';
import { adminCall, run, startCentral } from './helpers/processes.ts';

const N = 3000;

describe('pipeline restart safety', () => {
  it('kill -9 in the middle of 3,000 scans: every scan gets exactly one verdict, none lost, no false DUPLICATE', async () => {
    const brokers = kafka();
    const pre = prefix('restart');
    const t = topics(pre);
    const work = mkdtempSync(join(tmpdir(), 'sigpost-restart-'));
    const central = await startCentral(join(work, 'central'), [
      '--rate-limit',
      '100000000',
      '--kafka',
      brokers,
      '--events-topic',
      t.events,
    ]);
    const bus = new KafkaBus({ brokers: [brokers], clientId: 'restart-test' });
    let pipeline: ReturnType<typeof run> | undefined;
    try {
      // 3,000 genuine indicia, each on its own envelope, all scanned today.
      const a = await adminCall(central.url, 'POST', '/v1/admin/accounts', {
        name: 'Restart Test',
        origin_zip: '78703',
      });
      await adminCall(central.url, 'POST', `/v1/admin/accounts/${a.id}/funds`, { amount_cents: N * 100 });
      const buyLimit = pLimit(32);
      const payloads = await Promise.all(
        Array.from({ length: N }, (_, i) =>
          buyLimit(async () => {
            const r = await fetch(`${central.url}/v1/indicia`, {
              method: 'POST',
              headers: {
                authorization: `Bearer ${a.api_key}`,
                'idempotency-key': `restart-${i}`,
                'content-type': 'application/json',
              },
              body: JSON.stringify({ mail_class: 'letter', weight_oz: 1 }),
            });
            const body = (await r.json()) as { payload: string; mailing_date: string };
            return body;
          }),
        ),
      );
      const today = payloads[0]!.mailing_date;
      const fast = await fastEnvelopes(ADDRESSES);
      const renderLimit = pLimit(4);
      const images = await Promise.all(
        payloads.map((p) => renderLimit(() => fast.jpeg(new Uint8Array(Buffer.from(p.payload, 'base64'))))),
      );

      await bus.ensureTopics([
        { topic: t.scans, partitions: 4 },
        { topic: t.verdicts, partitions: 4 },
      ]);
      const seen = new Map<string, VerdictMessage[]>();
      const collector = await bus.subscribe({
        group: `${pre}collector`,
        topics: [t.verdicts],
        fromBeginning: true,
        partitionsConcurrently: 4,
        onBatch: async (b) => {
          for (const m of b.messages) {
            const v = JSON.parse(m.value.toString()) as VerdictMessage;
            seen.set(v.scan_id, [...(seen.get(v.scan_id) ?? []), v]);
          }
        },
      });
      const ids = images.map((_, i) => `restart-scan-${i}`);
      for (let i = 0; i < N; i += 200) {
        await bus.send(
          t.scans,
          images.slice(i, i + 200).map((image, j) => ({
            key: ids[i + j]!,
            value: image,
            headers: scanHeaders(ids[i + j]!, `PLANT-${(i + j) % 3}`, 'DBCS-1', `${today}T12:00:00.000Z`),
          })),
        );
      }

      const clickhouse = `chdb:${join(work, 'history')}`;
      const args = [
        'pipeline',
        'run',
        '--kafka',
        brokers,
        '--clickhouse',
        clickhouse,
        '--keys',
        `${central.url}/v1/keys`,
        '--topic-prefix',
        pre,
        '--partitions',
        '4',
      ];
      const waitUntil = async (cond: () => boolean, ms: number, what: string) => {
        const deadline = Date.now() + ms;
        while (!cond()) {
          if (Date.now() > deadline)
            throw new Error(
              `timed out waiting for ${what}; verdicts so far: ${seen.size}; pipeline output:\n${pipeline?.output()}`,
            );
          await new Promise((r) => setTimeout(r, 20));
        }
      };

      pipeline = run(args, { SIGPOST_LOG_LEVEL: 'warn' });
      await waitUntil(() => seen.size >= N / 3, 120_000, 'a third of the verdicts');
      pipeline.proc.kill('SIGKILL');
      await pipeline.exited;
      const atKill = seen.size;
      expect(atKill).toBeLessThan(N); // killed in the middle

      pipeline = run(args, { SIGPOST_LOG_LEVEL: 'warn' });
      await waitUntil(() => ids.every((id) => seen.has(id)), 180_000, 'every verdict');
      pipeline.proc.kill('SIGTERM');
      expect(await pipeline.exited).toBe(0);
      await collector.stop();

      // On `verdicts`: every scan, and only VALID (copies from replayed batches agree).
      expect(seen.size).toBe(N);
      const kinds = new Set([...seen.values()].flatMap((vs) => vs.map((v) => v.verdict)));
      expect([...kinds]).toEqual(['VALID']);

      // In ClickHouse: exactly one row per scan.
      const history = await History.open(clickhouse);
      try {
        const rows = await history.client.query({
          query:
            "SELECT count() AS n, uniqExact(scan_id) AS u, countIf(verdict != 'VALID') AS bad FROM scans",
          format: 'JSONEachRow',
        });
        const [r] = await rows.json<{ n: number; u: number; bad: number }>();
        expect({ n: Number(r!.n), u: Number(r!.u), bad: Number(r!.bad) }).toEqual({ n: N, u: N, bad: 0 });
      } finally {
        await history.close();
      }
    } finally {
      pipeline?.proc.kill('SIGKILL');
      await bus.close();
      central.proc.kill('SIGTERM');
      await central.exited;
    }
  }, 600_000);
});
