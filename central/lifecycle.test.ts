import { afterEach, describe, expect, it } from 'vitest';
import { decodeIndicium, publicKeyFromRaw, rawFromPem, verifyIndicium } from '../indicium/index.ts';
import { audit } from './audit.ts';
import { ADMIN, LETTER, type TestCentral, testCentral } from './testing.ts';

let c: TestCentral;
afterEach(async () => {
  await c?.close();
});
const admin = { authorization: `Bearer ${ADMIN}` };
const DAY = 86_400_000;

async function refund(key: string, meter: string, serial: number) {
  const r = await c.app.inject({
    method: 'POST',
    url: `/v1/indicia/${meter}/${serial}/refund`,
    headers: { authorization: `Bearer ${key}` },
    payload: { reason: 'label misprinted' },
  });
  return { status: r.statusCode, body: r.json() };
}

async function events(after = 0) {
  const r = await c.app.inject({ url: `/v1/events?after=${after}`, headers: admin });
  expect(r.statusCode).toBe(200);
  return r.json() as { events: { seq: number; type: string; meter: string; data: any }[]; next: number };
}

describe('refunds', () => {
  it('voids an unused indicium, credits the balance, journals it and publishes the event', async () => {
    c = await testCentral();
    const a = await c.createAccount();
    await c.fund(a.id, 1000);
    const bought = await c.buy(a.api_key, LETTER);
    const r = await refund(a.api_key, a.meter, 1);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'refunded', balance_cents: 1000, postage_cents: 74 });
    expect(await c.account(a.api_key)).toMatchObject({
      balance_cents: 1000,
      registers: {
        descending_cents: 1000,
        ascending_cents: 74,
        control_cents: 1074,
        deposited_cents: 1000,
        refunded_cents: 74,
      },
    });
    const ev = (await events()).events.filter((e) => e.type === 'indicium.refunded');
    expect(ev).toHaveLength(1);
    expect(ev[0]!.data).toMatchObject({
      meter: a.meter,
      serial: 1,
      key_id: bought.body.key_id,
      postage_cents: 74,
    });
    expect(audit(c.store).ok).toBe(true);
  });

  it('refuses a second refund, another account, and a refund after the window', async () => {
    c = await testCentral({ refundWindowDays: 30 });
    const a = await c.createAccount();
    const b = await c.createAccount('B');
    await c.fund(a.id, 1000);
    await c.buy(a.api_key, LETTER);
    await c.buy(a.api_key, LETTER);
    expect((await refund(b.api_key, a.meter, 1)).status).toBe(404);
    expect((await refund(a.api_key, a.meter, 1)).status).toBe(200);
    const again = await refund(a.api_key, a.meter, 1);
    expect(again).toMatchObject({ status: 409, body: { code: 'already_refunded' } });
    c.clock.advance(30 * DAY + 1000);
    const late = await refund(a.api_key, a.meter, 2);
    expect(late).toMatchObject({ status: 422, body: { code: 'refund_window_closed' } });
    expect(await c.account(a.api_key)).toMatchObject({ balance_cents: 1000 - 74 });
    expect(audit(c.store).ok).toBe(true);
  });
});

describe('signing keys', () => {
  it('gives each meter its own key and publishes it', async () => {
    c = await testCentral();
    const a = await c.createAccount();
    const b = await c.createAccount('B');
    const keys = (await c.app.inject({ url: '/v1/keys' })).json().keys;
    expect(keys.map((k: { meter: string }) => k.meter).sort()).toEqual([a.meter, b.meter].sort());
    expect(new Set(keys.map((k: { key_id: string }) => k.key_id)).size).toBe(2);
    const only = (await c.app.inject({ url: `/v1/keys?meter=${a.meter}` })).json().keys;
    expect(only).toHaveLength(1);
    expect(only[0]).toMatchObject({ status: 'active', valid_until: null, revoked_at: null });
    expect(only[0].public_key_pem).toMatch(/BEGIN PUBLIC KEY/);
  });

  it('rotates: new pieces carry the new key, old pieces still verify under the retired key', async () => {
    c = await testCentral();
    const a = await c.createAccount();
    await c.fund(a.id, 1000);
    const before = await c.buy(a.api_key, LETTER);
    c.clock.advance(DAY);
    const rot = await c.app.inject({
      method: 'POST',
      url: `/v1/admin/meters/${a.meter}/keys/rotate`,
      headers: admin,
    });
    expect(rot.statusCode).toBe(200);
    const { retired, active } = rot.json();
    expect(retired).toMatchObject({
      key_id: before.body.key_id,
      status: 'retired',
      valid_until: '2026-12-05T15:00:00.000Z',
    });
    expect(active.key_id).not.toBe(retired.key_id);
    const after = await c.buy(a.api_key, LETTER);
    expect(after.body.key_id).toBe(active.key_id);

    const keys = new Map<string, { public_key_pem: string }>(
      (await c.app.inject({ url: `/v1/keys?meter=${a.meter}` }))
        .json()
        .keys.map((k: { key_id: string }) => [k.key_id, k]),
    );
    for (const piece of [before.body, after.body]) {
      const d = decodeIndicium(new Uint8Array(Buffer.from(piece.payload, 'base64')));
      expect(verifyIndicium(d, publicKeyFromRaw(rawFromPem(keys.get(d.keyId)!.public_key_pem)))).toBe(true);
    }
    const types = (await events()).events.map((e) => e.type);
    expect(types).toEqual([
      'key.published',
      'indicium.issued',
      'key.retired',
      'key.published',
      'indicium.issued',
    ]);
  });

  it('revokes with a time and a reason, and replaces an active key at once', async () => {
    c = await testCentral();
    const a = await c.createAccount();
    await c.fund(a.id, 1000);
    const piece = await c.buy(a.api_key, LETTER);
    const r = await c.app.inject({
      method: 'POST',
      url: `/v1/admin/keys/${piece.body.key_id}/revoke`,
      headers: admin,
      payload: { reason: 'key compromise' },
    });
    expect(r.statusCode).toBe(200);
    const { revoked, replacement } = r.json();
    expect(revoked).toMatchObject({
      status: 'revoked',
      revoked_at: '2026-12-04T15:00:00.000Z',
      revocation_reason: 'key compromise',
    });
    expect(replacement.status).toBe('active');
    expect((await c.buy(a.api_key, LETTER)).body.key_id).toBe(replacement.key_id);
    const twice = await c.app.inject({
      method: 'POST',
      url: `/v1/admin/keys/${piece.body.key_id}/revoke`,
      headers: admin,
      payload: { reason: 'again' },
    });
    expect(twice.statusCode).toBe(409);
    expect(
      (await events()).events.some((e) => e.type === 'key.revoked' && e.data.key_id === piece.body.key_id),
    ).toBe(true);
  });
});

describe('the events feed', () => {
  it('needs the feed or admin token and pages by cursor', async () => {
    c = await testCentral({ feedToken: 'feed-token-0123456789abc' });
    const a = await c.createAccount();
    await c.fund(a.id, 1000);
    for (let i = 0; i < 5; i++) await c.buy(a.api_key, LETTER);
    expect((await c.app.inject({ url: '/v1/events' })).statusCode).toBe(401);
    expect(
      (await c.app.inject({ url: '/v1/events', headers: { authorization: `Bearer ${a.api_key}` } }))
        .statusCode,
    ).toBe(403);
    const p1 = (
      await c.app.inject({
        url: '/v1/events?limit=3',
        headers: { authorization: 'Bearer feed-token-0123456789abc' },
      })
    ).json();
    expect(p1.events.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3]);
    const p2 = await events(p1.next);
    expect(p2.events.map((e) => e.seq)).toEqual([4, 5, 6]);
    const issued = p2.events.filter((e) => e.type === 'indicium.issued');
    expect(issued[0]!.data.payload).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect((await events(p2.next)).events).toEqual([]);
  });
});

describe('accounts and API keys', () => {
  it('issues several API keys and revokes one without touching the other', async () => {
    c = await testCentral();
    const a = await c.createAccount();
    await c.fund(a.id, 1000);
    const k2 = (
      await c.app.inject({
        method: 'POST',
        url: `/v1/admin/accounts/${a.id}/api-keys`,
        headers: admin,
        payload: { label: 'warehouse' },
      })
    ).json();
    expect(k2.api_key).toMatch(/^sp_live_/);
    expect((await c.buy(k2.api_key, LETTER)).status).toBe(201);
    const list = (await c.app.inject({ url: `/v1/admin/accounts/${a.id}/api-keys`, headers: admin })).json()
      .api_keys;
    expect(list).toHaveLength(2);
    expect(JSON.stringify(list)).not.toContain('sp_live_');
    const del = await c.app.inject({
      method: 'DELETE',
      url: `/v1/admin/accounts/${a.id}/api-keys/${k2.id}`,
      headers: admin,
    });
    expect(del.json().revoked_at).toBeTruthy();
    expect((await c.buy(k2.api_key, LETTER)).status).toBe(401);
    expect((await c.buy(a.api_key, LETTER)).status).toBe(201);
  });

  it('suspends and reactivates an account', async () => {
    c = await testCentral();
    const a = await c.createAccount();
    await c.fund(a.id, 1000);
    await c.app.inject({
      method: 'PATCH',
      url: `/v1/admin/accounts/${a.id}`,
      headers: admin,
      payload: { status: 'suspended' },
    });
    expect((await c.buy(a.api_key, LETTER)).body.code).toBe('account_suspended');
    await c.app.inject({
      method: 'PATCH',
      url: `/v1/admin/accounts/${a.id}`,
      headers: admin,
      payload: { status: 'active' },
    });
    expect((await c.buy(a.api_key, LETTER)).status).toBe(201);
  });

  it('rate-limits per API key with a problem response', async () => {
    c = await testCentral({ rateLimitPerMinute: 3 });
    const a = await c.createAccount();
    const b = await c.createAccount('B');
    const get = (k: string) =>
      c.app.inject({ url: '/v1/account', headers: { authorization: `Bearer ${k}` } });
    for (let i = 0; i < 3; i++) expect((await get(a.api_key)).statusCode).toBe(200);
    const r = await get(a.api_key);
    expect(r.statusCode).toBe(429);
    expect(r.headers['content-type']).toMatch(/problem\+json/);
    expect(r.json().code).toBe('rate_limited');
    expect((await get(b.api_key)).statusCode).toBe(200);
  });

  it('serves health, metrics and the OpenAPI document', async () => {
    c = await testCentral();
    const a = await c.createAccount();
    await c.fund(a.id, 1000);
    await c.buy(a.api_key, LETTER);
    expect((await c.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const m = (await c.app.inject({ url: '/metrics' })).body;
    expect(m).toMatch(/sigpost_indicia_issued_total\{mail_class="letter"\} 1/);
    expect(m).toMatch(/sigpost_issue_batch_size_count \d+/);
    expect(m).toMatch(
      /sigpost_http_request_duration_seconds_bucket\{le="0.0005",method="POST",route="\/v1\/indicia",status_code="201"\}/,
    );
    expect(m).not.toMatch(new RegExp(a.meter));
    const doc = (await c.app.inject({ url: '/docs/json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/indicia', '/v1/keys', '/v1/admin/accounts', '/v1/account']),
    );
    expect((await c.app.inject({ url: '/docs' })).statusCode).toBeLessThan(400);
  });
});
