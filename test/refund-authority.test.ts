/**
 * Refunds are for unused postage: the central signer asks the postal authority's pipeline whether
 * a piece was seen in the mail before it refunds it. Both sides real: the pipeline's HTTP API over
 * its chDB history, the central signer's refund route.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestCentral, testCentral } from '../central/testing.ts';
import { decodeIndicium } from '../indicium/index.ts';
import { History } from '../pipeline/history.ts';
import { buildPipelineHttp } from '../pipeline/http.ts';
import { KeyRegistry } from '../pipeline/registry.ts';
import { VerdictStage } from '../pipeline/verdict.ts';

let c: TestCentral;
let history: History;
let http: FastifyInstance;
let registry: KeyRegistry;
let authority: string;

beforeAll(async () => {
  history = await History.open(`chdb:${mkdtempSync(join(tmpdir(), 'sigpost-authority-'))}`);
  registry = new KeyRegistry();
  http = await buildPipelineHttp({ history, registry, metrics: new Registry(), ready: () => true });
  await http.listen({ host: '127.0.0.1', port: 0 });
  const addr = http.server.address();
  authority = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  c = await testCentral({ authorityUrl: authority });
}, 60_000);
afterAll(async () => {
  await c.close();
  await http.close().catch(() => {});
  await history.close();
});

describe('refunds ask the postal authority', () => {
  it('refuses a piece seen in the mail, refunds one that was not, and waits when it cannot ask', async () => {
    const a = await c.createAccount();
    await c.fund(a.id, 1000);
    const bought = [];
    for (let i = 0; i < 3; i++)
      bought.push((await c.buy(a.api_key, { mail_class: 'letter', weight_oz: 1 })).body);
    for (const k of (await c.app.inject({ url: '/v1/keys' })).json().keys) registry.put(k);

    // The authority sees piece 1 in a sorting plant.
    const p1 = bought[0];
    const d = decodeIndicium(new Uint8Array(Buffer.from(p1.payload, 'base64')));
    const stage = new VerdictStage(history, registry);
    const now = new Date().toISOString();
    const { verdicts } = await stage.decide([
      {
        v: 1,
        scan_id: 'seen-1',
        plant: 'P',
        machine: 'M',
        captured_at: `${p1.mailing_date}T18:00:00.000Z`,
        queued_at: now,
        read_at: now,
        outcome: 'decoded',
        payload: p1.payload,
        meter: d.meter,
        serial: d.record.serial,
        timings: { queue_ms: 0, image_ms: 0, barcode_ms: 0 },
      },
    ]);
    expect(verdicts[0]!.verdict).toBe('VALID');

    const refund = (serial: number) =>
      c.app.inject({
        method: 'POST',
        url: `/v1/indicia/${a.meter}/${serial}/refund`,
        headers: { authorization: `Bearer ${a.api_key}` },
      });
    const used = await refund(1);
    expect(used.statusCode).toBe(409);
    expect(used.json().code).toBe('indicium_used');
    expect((await refund(2)).statusCode).toBe(200);

    await http.close();
    const down = await refund(3);
    expect(down.statusCode).toBe(503);
    expect(down.json().code).toBe('unavailable');
    expect(await c.account(a.api_key)).toMatchObject({ balance_cents: 1000 - 3 * 74 + 74 });
  }, 60_000);
});
