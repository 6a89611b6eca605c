/** `sigpost sim run` as an operator runs it: real indicia bought over the central signer's API, written to a folder. */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { adminCall, runToEnd, startCentral } from './helpers/processes.ts';

describe('sigpost sim run', () => {
  it('writes images and their ground truth, paced, and reports the rate achieved', async () => {
    const work = mkdtempSync(join(tmpdir(), 'sigpost-sim-cli-'));
    const central = await startCentral(join(work, 'central'));
    try {
      const a = await adminCall(central.url, 'POST', '/v1/admin/accounts', {
        name: 'Sim CLI',
        origin_zip: '78703',
      });
      await adminCall(central.url, 'POST', `/v1/admin/accounts/${a.id}/funds`, { amount_cents: 100_000 });
      const out = join(work, 'scans');
      const r = await runToEnd([
        'sim',
        'run',
        '--rate',
        '20',
        '--count',
        '12',
        '--api',
        central.url,
        '--key',
        a.api_key,
        '--out',
        out,
        '--seed',
        '5',
      ]);
      expect(r.code, r.out).toBe(0);
      const summary = JSON.parse(
        r.out
          .trim()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .pop()!,
      );
      expect(summary).toMatchObject({ sent: 12, target_rps: 20 });
      expect(summary.achieved_rps).toBeGreaterThan(0);
      const truth = readFileSync(join(out, 'truth.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(truth).toHaveLength(12);
      expect(new Set(truth.map((t) => t.expected)).size).toBeGreaterThan(1);
      const jpgs = readdirSync(out).filter((f) => f.endsWith('.jpg'));
      expect(jpgs).toHaveLength(12);
      const meta = await sharp(join(out, jpgs[0]!)).metadata();
      expect(meta).toMatchObject({ format: 'jpeg', width: 1900, height: 850, channels: 1 });
    } finally {
      central.proc.kill('SIGTERM');
      await central.exited;
    }
  }, 120_000);
});
