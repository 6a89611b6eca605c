/**
 * A short simulation through the real Kafka broker: scanner-sim buys real indicia from the central
 * signer, makes the scenario mix (valid, copied, tampered, unknown key, refunded, stale, no
 * indicium, damaged indicium) at light damage, feeds it paced to `scans`, and the pipeline's
 * verdicts must equal the ground truth, scan by scan.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFeed, scanHeaders } from '../scanner-sim/feed.ts';
import { accuracy, accuracyMarkdown } from '../scanner-sim/report.ts';
import { DEFAULT_MIX, type GeneratedScan, ScanGenerator } from '../scanner-sim/scenarios.ts';
import { centralSource } from '../scanner-sim/source.ts';
import { kafka, prefix } from './helpers/kafka.ts';
import { type Harness, harness, SCAN_TIME } from './helpers/pipeline.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness(kafka(), prefix('sim'));
}, 120_000);
afterAll(async () => {
  await h?.stop();
});

describe('scanner-sim through Kafka', () => {
  it('the confusion matrix of a short run equals the ground truth', async () => {
    const a = await h.central.createAccount('Sim Mailer', '78703');
    await h.central.fund(a.id, 1_000_000);
    const mix = {
      ...DEFAULT_MIX,
      scenarios: {
        valid: 40,
        copied: 12,
        tampered: 8,
        unknown_key: 8,
        refunded: 8,
        stale_date: 8,
        no_indicium: 8,
        damaged_indicium: 8,
      },
      damage: { none: 50, light: 50 },
      upsideDown: 0.05,
      dataMatrix: 0.1,
    };
    const gen = new ScanGenerator({
      source: centralSource(h.central, a.id),
      mix,
      seed: 2026,
      now: () => new Date(SCAN_TIME),
      runId: `${h.prefix}s`,
    });
    // Make every piece first (the refunds reach the authority's registry before the pieces do).
    const scans: GeneratedScan[] = [];
    for (let i = 0; i < 100; i++) scans.push(await gen.next());
    await h.relay.drain();
    const refunds = scans.filter((s) => s.scenario === 'refunded').length;
    await expect.poll(() => h.registry.voidedCount, { timeout: 20_000 }).toBe(refunds);

    let i = 0;
    const fed = await runFeed({
      generator: { next: async () => scans[i++]! },
      count: scans.length,
      rate: 25,
      send: (batch) =>
        h.bus.send(
          h.t.scans,
          batch.map((s) => ({ key: s.scan_id, value: s.image, headers: scanHeaders(s) })),
        ),
    });
    expect(fed.sent).toBe(100);
    expect(fed.achievedRps).toBeGreaterThan(15);
    const got = await h.waitFor(
      scans.map((s) => s.scan_id),
      120_000,
    );

    const report = accuracy(
      scans.map(({ image: _i, ...t }) => t),
      got,
    );
    const wrong = scans
      .filter((s) => got.get(s.scan_id)!.verdict !== s.expected)
      .map(
        (s) =>
          `${s.scan_id} ${s.scenario} ${s.damage}: expected ${s.expected}, got ${got.get(s.scan_id)!.verdict} (${got.get(s.scan_id)!.reason})`,
      );
    expect(wrong, accuracyMarkdown(report)).toEqual([]);
    expect(report.all_goals_met).toBe(true);
    for (const sc of [
      'valid',
      'copied',
      'tampered',
      'unknown_key',
      'refunded',
      'stale_date',
      'no_indicium',
      'damaged_indicium',
    ]) {
      expect(report.by_scenario[sc]?.n ?? 0, `no ${sc} scans in the run`).toBeGreaterThan(0);
    }
  }, 240_000);
});
