/**
 * The accuracy benchmark (`npm run bench -- accuracy`), in one process without Kafka: a central
 * signer (memory keys), scanner-sim's scenario mix, the pipeline's read and verdict stages (worker
 * pool, chDB history) composed as the authority runs them, and scanner-sim's report.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testCentral } from '../central/testing.ts';
import { History } from '../pipeline/history.ts';
import { ReadPool } from '../pipeline/read/pool.ts';
import { readMessage } from '../pipeline/read/read.ts';
import { KeyRegistry } from '../pipeline/registry.ts';
import { VerdictStage } from '../pipeline/verdict.ts';
import { loadEvents } from '../pipeline/verify-files.ts';
import { type AccuracyReport, accuracy, type SeenVerdict } from '../scanner-sim/report.ts';
import {
  type GeneratedScan,
  type Mix,
  ScanGenerator,
  type Truth,
  truthOf,
} from '../scanner-sim/scenarios.ts';
import { centralSource } from '../scanner-sim/source.ts';

export async function runAccuracy(o: {
  n: number;
  mix?: Mix;
  seed?: number;
  progress?: (msg: string) => void;
}): Promise<{ report: AccuracyReport; truth: Truth[] }> {
  const central = await testCentral();
  const dir = mkdtempSync(join(tmpdir(), 'sigpost-accuracy-'));
  const history = await History.open(`chdb:${dir}`);
  const pool = new ReadPool();
  try {
    const acct = await central.createAccount('Accuracy Mailer', '78703');
    await central.fund(acct.id, 100_000_000);
    const scanTime = new Date(central.clock.now().getTime() + 3_600_000);
    const gen = new ScanGenerator({
      source: centralSource(central, acct.id),
      mix: o.mix,
      seed: o.seed ?? 7,
      now: () => scanTime,
      runId: 'acc',
    });
    const scans: GeneratedScan[] = [];
    for (let i = 0; i < o.n; i++) {
      scans.push(await gen.next());
      if ((i + 1) % 50 === 0) o.progress?.(`accuracy: rendered ${i + 1}/${o.n} scans`);
    }
    // The authority's registry: the vendor's keys and refunds, from its events feed.
    const registry = new KeyRegistry();
    const addr = await central.app.listen({ host: '127.0.0.1', port: 0 });
    await loadEvents(registry, addr, 'test-admin-token-0123456789');
    const stage = new VerdictStage(history, registry);
    const reads = scans.map((s) => pool.run(s.image));
    const verdicts = new Map<string, SeenVerdict>();
    for (let i = 0; i < scans.length; i++) {
      const s = scans[i]!;
      const r = await reads[i]!;
      const msg = readMessage(s, r, { queued_at: s.captured_at, read_at: s.captured_at, queue_ms: 0 });
      const {
        verdicts: [v],
      } = await stage.decide([msg]);
      verdicts.set(s.scan_id, { scan_id: s.scan_id, verdict: v!.verdict, reason: v!.reason });
      if ((i + 1) % 100 === 0) o.progress?.(`accuracy: judged ${i + 1}/${scans.length} scans`);
    }
    const truth = scans.map(truthOf);
    return { report: accuracy(truth, verdicts), truth };
  } finally {
    await pool.close();
    await history.close();
    await central.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
