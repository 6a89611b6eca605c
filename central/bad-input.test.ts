import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, LETTER, type TestCentral, testCentral } from './testing.ts';

let c: TestCentral;
let key: string;
let id: string;
let suspendedKey: string;

beforeAll(async () => {
  c = await testCentral();
  const a = await c.createAccount();
  key = a.api_key;
  id = a.id;
  await c.fund(a.id, 10_000);
  expect((await c.buy(key, LETTER)).status).toBe(201);
  const s = await c.createAccount('Suspended');
  await c.fund(s.id, 10_000);
  suspendedKey = s.api_key;
  const r = await c.app.inject({
    method: 'PATCH',
    url: `/v1/admin/accounts/${s.id}`,
    headers: { authorization: `Bearer ${ADMIN}` },
    payload: { status: 'suspended' },
  });
  expect(r.statusCode).toBe(200);
});
afterAll(async () => {
  await c.close();
});

function moneySnapshot() {
  return {
    counts: c.store.counts(),
    accounts: [...c.store.allAccounts()].map((a) => [
      a.descending_cents,
      a.ascending_cents,
      a.control_cents,
      a.last_serial,
    ]),
  };
}

type Case = {
  name: string;
  status: number;
  code: string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  auth?: string | null;
  method?: 'POST' | 'GET';
  url?: string;
};

const cases: Case[] = [
  { name: 'no Authorization header', auth: null, body: LETTER, status: 401, code: 'unauthenticated' },
  {
    name: 'an unknown API key',
    auth: 'sp_live_' + 'A'.repeat(43),
    body: LETTER,
    status: 401,
    code: 'unauthenticated',
  },
  { name: 'a malformed API key', auth: 'hello', body: LETTER, status: 401, code: 'unauthenticated' },
  {
    name: 'the admin token used as an API key',
    auth: ADMIN,
    body: LETTER,
    status: 401,
    code: 'unauthenticated',
  },
  { name: 'a suspended account', auth: 'SUSPENDED', body: LETTER, status: 403, code: 'account_suspended' },
  {
    name: 'no Idempotency-Key',
    headers: { 'idempotency-key': '' },
    body: LETTER,
    status: 400,
    code: 'idempotency_key_required',
  },
  {
    name: 'an Idempotency-Key with spaces',
    headers: { 'idempotency-key': 'a b' },
    body: LETTER,
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'an unknown mail class',
    body: { ...LETTER, mail_class: 'telegram' },
    status: 422,
    code: 'unknown_mail_class',
  },
  {
    name: 'a mail class in capitals',
    body: { ...LETTER, mail_class: 'LETTER' },
    status: 422,
    code: 'unknown_mail_class',
  },
  { name: 'an overweight letter', body: { ...LETTER, weight_oz: 3.6 }, status: 422, code: 'overweight' },
  {
    name: 'an overweight parcel',
    body: { ...LETTER, mail_class: 'parcel', weight_oz: 1121 },
    status: 422,
    code: 'overweight',
  },
  { name: 'zero weight', body: { ...LETTER, weight_oz: 0 }, status: 400, code: 'invalid_request' },
  { name: 'negative weight', body: { ...LETTER, weight_oz: -1 }, status: 400, code: 'invalid_request' },
  { name: 'weight as a string', body: { ...LETTER, weight_oz: '1' }, status: 400, code: 'invalid_request' },
  {
    name: 'a four-digit ZIP',
    body: { ...LETTER, destination_zip: '1000' },
    status: 422,
    code: 'invalid_zip',
  },
  {
    name: 'a ZIP with letters',
    body: { ...LETTER, destination_zip: '1000A' },
    status: 422,
    code: 'invalid_zip',
  },
  {
    name: 'a ZIP that does not exist',
    body: { ...LETTER, destination_zip: '00000' },
    status: 422,
    code: 'invalid_zip',
  },
  {
    name: 'a ZIP as a number',
    body: { ...LETTER, destination_zip: 10001 },
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'a date that does not exist',
    body: { ...LETTER, mailing_date: '2026-02-30' },
    status: 422,
    code: 'invalid_mailing_date',
  },
  {
    name: 'a backdated mailing',
    body: { ...LETTER, mailing_date: '2026-11-01' },
    status: 422,
    code: 'invalid_mailing_date',
  },
  {
    name: 'a mailing date too far ahead',
    body: { ...LETTER, mailing_date: '2027-03-01' },
    status: 422,
    code: 'invalid_mailing_date',
  },
  {
    name: 'a date in another format',
    body: { ...LETTER, mailing_date: '12/04/2026' },
    status: 422,
    code: 'invalid_mailing_date',
  },
  { name: 'an unknown field', body: { ...LETTER, postage_cents: 1 }, status: 400, code: 'invalid_request' },
  { name: 'a missing mail class', body: { weight_oz: 1 }, status: 400, code: 'invalid_request' },
  { name: 'a body that is an array', body: [LETTER], status: 400, code: 'invalid_request' },
  { name: 'a body that is null', raw: 'null', status: 400, code: 'invalid_request' },
  { name: 'broken JSON', raw: '{"mail_class": "letter",', status: 400, code: 'invalid_request' },
  { name: 'an empty body', raw: '', status: 400, code: 'invalid_request' },
  {
    name: 'text/plain',
    raw: 'letter 1oz',
    headers: { 'content-type': 'text/plain' },
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'a 100 kB body',
    raw: JSON.stringify({ ...LETTER, pad: 'x'.repeat(100_000) }),
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: 'a serial that is not a number',
    method: 'GET',
    url: '/v1/indicia/4100000001/abc',
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'a meter that is not ten digits',
    method: 'GET',
    url: '/v1/indicia/41/1',
    status: 400,
    code: 'invalid_request',
  },
  { name: 'an unknown route', method: 'GET', url: '/v1/nothing-here', status: 404, code: 'not_found' },
  {
    name: 'a refund of a piece that does not exist',
    url: '/v1/indicia/4100000001/99/refund',
    body: {},
    status: 404,
    code: 'not_found',
  },
];

describe('bad input gets a clear 4xx and changes no money', () => {
  it.each(cases)('$name -> $status $code', async (t) => {
    const before = moneySnapshot();
    const auth =
      t.auth === null
        ? {}
        : { authorization: `Bearer ${t.auth === 'SUSPENDED' ? suspendedKey : (t.auth ?? key)}` };
    const hasBody = t.body !== undefined || t.raw !== undefined;
    const r = await c.app.inject({
      method: t.method ?? 'POST',
      url: t.url ?? '/v1/indicia',
      headers: {
        ...auth,
        'idempotency-key': `bad-${t.name}`.replace(/[^\x21-\x7e]/g, '_'),
        ...(hasBody ? { 'content-type': 'application/json' } : {}),
        ...t.headers,
      },
      ...(t.raw !== undefined
        ? { payload: t.raw }
        : t.body !== undefined
          ? { payload: JSON.stringify(t.body) }
          : {}),
    });
    expect(r.statusCode, r.body).toBe(t.status);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    const p = r.json();
    expect(p).toMatchObject({ status: t.status, code: t.code, type: `urn:sigpost:problem:${t.code}` });
    expect(typeof p.title).toBe('string');
    expect(moneySnapshot()).toEqual(before);
  });

  it('refuses admin calls without the admin token', async () => {
    const none = await c.app.inject({
      method: 'POST',
      url: '/v1/admin/accounts',
      payload: { name: 'x', origin_zip: '78703' },
    });
    expect(none.statusCode).toBe(401);
    const wrong = await c.app.inject({
      method: 'POST',
      url: `/v1/admin/accounts/${id}/funds`,
      headers: { authorization: `Bearer ${key}` },
      payload: { amount_cents: 5 },
    });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().code).toBe('forbidden');
  });

  it.each([
    ['a zero amount', { amount_cents: 0 }, 400],
    ['a fractional amount', { amount_cents: 10.5 }, 400],
    ['an amount as a string', { amount_cents: '1000' }, 400],
    ['more than $1,000,000', { amount_cents: 100_000_001 }, 400],
  ])('refuses funding with %s', async (_n, body, status) => {
    const before = moneySnapshot();
    const r = await c.app.inject({
      method: 'POST',
      url: `/v1/admin/accounts/${id}/funds`,
      headers: { authorization: `Bearer ${ADMIN}` },
      payload: body,
    });
    expect(r.statusCode).toBe(status);
    expect(moneySnapshot()).toEqual(before);
  });

  it.each([
    ['an origin ZIP that is not a ZIP', { name: 'x', origin_zip: 'abc' }, 422, 'invalid_zip'],
    [
      'an origin ZIP not in the table, without city and state',
      { name: 'x', origin_zip: '00000' },
      422,
      'invalid_zip',
    ],
    ['an empty name', { name: '', origin_zip: '78703' }, 400, 'invalid_request'],
    ['funding an account that does not exist', null, 404, 'not_found'],
  ])('refuses account creation with %s', async (_n, body, status, code) => {
    const r = body
      ? await c.app.inject({
          method: 'POST',
          url: '/v1/admin/accounts',
          headers: { authorization: `Bearer ${ADMIN}` },
          payload: body,
        })
      : await c.app.inject({
          method: 'POST',
          url: '/v1/admin/accounts/acct_nope/funds',
          headers: { authorization: `Bearer ${ADMIN}` },
          payload: { amount_cents: 5 },
        });
    expect(r.statusCode).toBe(status);
    expect(r.json().code).toBe(code);
  });

  it('takes an origin with +4 and an explicit city for a ZIP the table lacks', async () => {
    const r = await c.app.inject({
      method: 'POST',
      url: '/v1/admin/accounts',
      headers: { authorization: `Bearer ${ADMIN}` },
      payload: { name: 'New ZIP Co', origin_zip: '99998-1234', origin_city: 'Newtown', origin_state: 'tx' },
    });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json().origin).toEqual({ zip: '99998', plus4: '1234', city: 'Newtown', state: 'TX' });
  });
});
