/**
 * Test helpers for the central signer: the real app (buildCentral) with the memory signer, a fake
 * clock and a fresh data folder, driven through fastify's inject(). Imported by tests only.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCentral, type Central } from './app.ts';
import { FakeClock } from './clock.ts';
import { type CentralConfig, resolveConfig } from './config.ts';

export const ADMIN = 'test-admin-token-0123456789';

export interface TestCentral extends Central {
  clock: FakeClock;
  dataDir: string;
  createAccount(name?: string, origin_zip?: string): Promise<{ id: string; api_key: string; meter: string }>;
  fund(id: string, amount_cents: number): Promise<void>;
  buy(
    apiKey: string,
    body: object,
    idempotencyKey?: string,
  ): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
  account(apiKey: string): Promise<any>;
}

let counter = 0;

export async function testCentral(
  over: Partial<CentralConfig> = {},
  clock = new FakeClock(),
): Promise<TestCentral> {
  const dataDir = over.dataDir ?? mkdtempSync(join(tmpdir(), 'sigpost-central-'));
  const { config } = resolveConfig(
    { signer: 'memory:', adminToken: ADMIN, logLevel: 'silent', ...over, dataDir },
    {},
  );
  const c = await buildCentral({ config, clock, logger: false });
  const admin = { authorization: `Bearer ${ADMIN}` };
  const t: TestCentral = {
    ...c,
    clock,
    dataDir,
    async createAccount(name = 'Test Mailer', origin_zip = '78703') {
      const r = await c.app.inject({
        method: 'POST',
        url: '/v1/admin/accounts',
        headers: admin,
        payload: { name, origin_zip },
      });
      if (r.statusCode !== 201) throw new Error(`create account: ${r.statusCode} ${r.body}`);
      return r.json();
    },
    async fund(id, amount_cents) {
      const r = await c.app.inject({
        method: 'POST',
        url: `/v1/admin/accounts/${id}/funds`,
        headers: admin,
        payload: { amount_cents },
      });
      if (r.statusCode !== 200) throw new Error(`fund: ${r.statusCode} ${r.body}`);
    },
    async buy(apiKey, body, idempotencyKey = `test-${++counter}`) {
      const r = await c.app.inject({
        method: 'POST',
        url: '/v1/indicia',
        headers: { authorization: `Bearer ${apiKey}`, 'idempotency-key': idempotencyKey },
        payload: body,
      });
      return { status: r.statusCode, body: r.json(), headers: r.headers };
    },
    async account(apiKey) {
      return (
        await c.app.inject({
          method: 'GET',
          url: '/v1/account',
          headers: { authorization: `Bearer ${apiKey}` },
        })
      ).json();
    },
  };
  return t;
}

export const LETTER = { mail_class: 'letter', weight_oz: 1, destination_zip: '10001' };
