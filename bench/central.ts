/**
 * Central signer benchmarks (npm run bench -- central). Figures are medians over several runs,
 * with their range:
 *   1. issuance in process: indicia signed and durably committed (file signer, WAL + synchronous=FULL,
 *      verify-after-sign on), no rendering;
 *   2. the same with the PDF417 PNG rendered for each piece;
 *   3. HTTP latency at a fixed offered rate (autocannon against a server in its own process).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { buildCentral, type Central } from '../central/app.ts';
import { resolveConfig } from '../central/config.ts';
import { encodeMatrix, renderPng } from '../indicium/barcode/index.ts';
import { adminCall, startCentral } from '../test/helpers/processes.ts';
import { paced } from './paced.ts';
import { type Figure, figure, type Progress } from './stats.ts';

const LETTER = { mail_class: 'letter', weight_oz: 1, destination_zip: '10001' };

async function inProcess(
  verifyAfterSign = true,
): Promise<{ central: Central; accountId: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sigpost-bench-central-'));
  const { config } = resolveConfig(
    {
      dataDir: dir,
      adminToken: 'bench-admin-token-0123456789',
      keyPassphrase: 'bench passphrase',
      logLevel: 'silent',
      verifyAfterSign,
    },
    {},
  );
  const central = await buildCentral({ config, logger: false });
  const { account } = central.accounts.create({ name: 'Bench', origin_zip: '78703' });
  central.accounts.fund(account.id, 100_000_000, 'bench');
  return { central, accountId: account.id, dir };
}

/** Issue `n` pieces with `concurrency` requests outstanding; returns pieces per second. */
async function issueRate(
  c: Central,
  accountId: string,
  n: number,
  concurrency: number,
  render: boolean,
): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < n) {
      next++;
      const { view } = await c.issuer.issue(accountId, randomUUID(), LETTER);
      if (render) renderPng(await encodeMatrix(new Uint8Array(Buffer.from(view.payload, 'base64'))));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return n / ((performance.now() - t0) / 1000);
}

export interface CentralBench {
  issue_per_s: Figure;
  /** The same with verify-after-sign off: what the extra check costs. */
  issue_no_verify_per_s: Figure;
  issue_render_png_per_s: Figure;
  http: {
    offered_rps: number;
    /** Our open-loop generator: evenly paced, latency from each request's due time. */
    paced: { achieved_rps: Figure; p50_ms: Figure; p99_ms: Figure; failed: number };
    /** autocannon's overallRate: each connection sends its share back to back each second. */
    autocannon: { connections: number; achieved_rps: Figure; p50_ms: Figure; p99_ms: Figure; failed: number };
  };
  batch: { mean_pieces_per_transaction: number };
}

export async function benchCentral(
  progress: Progress,
  opts: { runs?: number; quick?: boolean } = {},
): Promise<CentralBench> {
  const runs = opts.runs ?? 5;
  const n = opts.quick ? 2_000 : 20_000;
  const { central, accountId, dir } = await inProcess();
  try {
    progress('central: warm-up');
    await issueRate(central, accountId, 2_000, 256, false);
    const plain: number[] = [];
    for (let i = 0; i < runs; i++) {
      progress(`central: issuance, run ${i + 1}/${runs} (${n} pieces)`);
      plain.push(await issueRate(central, accountId, n, 1024, false));
    }
    const rendered: number[] = [];
    for (let i = 0; i < runs; i++) {
      progress(`central: issuance + PNG, run ${i + 1}/${runs} (${n / 10} pieces)`);
      rendered.push(await issueRate(central, accountId, n / 10, 64, true));
    }
    const noVerify: number[] = [];
    {
      const nv = await inProcess(false);
      try {
        await issueRate(nv.central, nv.accountId, 2_000, 256, false);
        for (let i = 0; i < runs; i++) {
          progress(`central: issuance without verify-after-sign, run ${i + 1}/${runs} (${n} pieces)`);
          noVerify.push(await issueRate(nv.central, nv.accountId, n, 1024, false));
        }
      } finally {
        await nv.central.close();
        rmSync(nv.dir, { recursive: true, force: true });
      }
    }
    const metrics = await central.registry.getSingleMetric('sigpost_issue_batch_size')!.get();
    type Named = { metricName?: string; value: number };
    const sum = (metrics.values as Named[]).find(
      (v) => v.metricName === 'sigpost_issue_batch_size_sum',
    )!.value;
    const count = (metrics.values as Named[]).find(
      (v) => v.metricName === 'sigpost_issue_batch_size_count',
    )!.value;
    const http = await httpLatency(progress, runs, opts.quick ? 3 : 10);
    return {
      issue_per_s: figure(plain),
      issue_no_verify_per_s: figure(noVerify),
      issue_render_png_per_s: figure(rendered),
      http,
      batch: { mean_pieces_per_transaction: Math.round((sum / count) * 10) / 10 },
    };
  } finally {
    await central.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function httpLatency(progress: Progress, runs: number, seconds: number): Promise<CentralBench['http']> {
  const dir = mkdtempSync(join(tmpdir(), 'sigpost-bench-http-'));
  const server = await startCentral(dir, ['--rate-limit', '100000000', '--log-level', 'warn']);
  const offered = 1000;
  try {
    const a = await adminCall(server.url, 'POST', '/v1/admin/accounts', {
      name: 'Bench HTTP',
      origin_zip: '78703',
    });
    await adminCall(server.url, 'POST', `/v1/admin/accounts/${a.id}/funds`, { amount_cents: 100_000_000 });
    const headers = () => ({
      authorization: `Bearer ${a.api_key}`,
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    });
    const body = JSON.stringify(LETTER);
    progress('central: HTTP warm-up');
    await paced(server.url, 500, 2, () => ({
      method: 'POST',
      path: '/v1/indicia',
      headers: headers(),
      body,
    }));

    const p = { achieved: [] as number[], p50: [] as number[], p99: [] as number[], failed: 0 };
    for (let i = 0; i < runs; i++) {
      progress(`central: HTTP paced at ${offered} req/s, run ${i + 1}/${runs} (${seconds} s)`);
      const r = await paced(server.url, offered, seconds, () => ({
        method: 'POST',
        path: '/v1/indicia',
        headers: headers(),
        body,
      }));
      p.achieved.push(r.achieved_rps);
      p.p50.push(r.p50_ms);
      p.p99.push(r.p99_ms);
      p.failed += r.failed;
    }
    const ac = { achieved: [] as number[], p50: [] as number[], p99: [] as number[], failed: 0 };
    for (let i = 0; i < runs; i++) {
      progress(`central: HTTP autocannon at ${offered} req/s, run ${i + 1}/${runs} (${seconds} s)`);
      const r = await autocannon({
        url: `${server.url}/v1/indicia`,
        connections: 16,
        overallRate: offered,
        duration: seconds,
        requests: [{ method: 'POST', setupRequest: (req: any) => ({ ...req, headers: headers(), body }) }],
      });
      ac.achieved.push(r.requests.average);
      ac.p50.push(r.latency.p50);
      ac.p99.push(r.latency.p99);
      ac.failed += r.errors + r.timeouts + r.non2xx;
    }
    return {
      offered_rps: offered,
      paced: {
        achieved_rps: figure(p.achieved),
        p50_ms: figure(p.p50),
        p99_ms: figure(p.p99),
        failed: p.failed,
      },
      autocannon: {
        connections: 16,
        achieved_rps: figure(ac.achieved),
        p50_ms: figure(ac.p50),
        p99_ms: figure(ac.p99),
        failed: ac.failed,
      },
    };
  } finally {
    server.proc.kill('SIGTERM');
    await server.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}
