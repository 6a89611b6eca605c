/**
 * /v1/admin: the vendor's operations, behind the admin bearer token. Every call here is logged
 * (audit), unlike the quiet per-piece path.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import { accountView } from '../accounts.ts';
import type { Services } from '../app.ts';
import { audit } from '../audit.ts';
import { CentralError } from '../errors.ts';
import { AccountSchema, KeySchema, problems } from './schemas.ts';

export function bearer(header: string | undefined): string | undefined {
  return header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
}

export function tokenMatches(given: string | undefined, expected: string | undefined): boolean {
  if (!given || !expected) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const NewAccountBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    origin_zip: Type.String({
      description: 'ZIP or ZIP+4 of the place the meter is licensed, e.g. 78703 or 78703-1234.',
      maxLength: 10,
    }),
    origin_city: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'Derived from the ZIP when omitted.' }),
    ),
    origin_state: Type.Optional(
      Type.String({ minLength: 2, maxLength: 2, description: 'Derived from the ZIP when omitted.' }),
    ),
  },
  { additionalProperties: false },
);

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export const adminRoutes =
  (s: Services): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.addHook('onRequest', async (req) => {
      if (!tokenMatches(bearer(req.headers.authorization), s.config.adminToken)) {
        throw new CentralError(
          req.headers.authorization ? 'forbidden' : 'unauthenticated',
          'the admin token is required',
        );
      }
    });
    const security = [{ admin: [] }];
    const tags = ['admin'];

    app.post(
      '/accounts',
      {
        schema: {
          tags,
          security,
          summary: 'Create an account with its meter, its signing key and a first API key',
          body: NewAccountBody,
          response: {
            201: Type.Intersect([
              AccountSchema,
              Type.Object({ api_key: Type.String(), api_key_id: Type.String() }),
            ]),
            ...problems(400, 401, 403, 422),
          },
        },
      },
      async (req, reply) => {
        const { account, apiKey, apiKeyId } = s.accounts.create(req.body);
        req.log.info({ account: account.id, meter: account.meter }, 'account created');
        return reply.status(201).send({ ...accountView(account), api_key: apiKey, api_key_id: apiKeyId });
      },
    );

    app.get(
      '/accounts',
      {
        schema: {
          tags,
          security,
          summary: 'List accounts',
          querystring: Type.Object({
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
            after: Type.Optional(Type.String()),
          }),
          response: { 200: Type.Object({ accounts: Type.Array(AccountSchema) }) },
        },
      },
      async (req) => ({ accounts: s.store.listAccounts(req.query.limit, req.query.after).map(accountView) }),
    );

    app.get(
      '/accounts/:id',
      {
        schema: {
          tags,
          security,
          summary: 'One account',
          params: IdParams,
          response: { 200: AccountSchema, ...problems(404) },
        },
      },
      async (req) => accountView(s.accounts.get(req.params.id)),
    );

    app.patch(
      '/accounts/:id',
      {
        schema: {
          tags,
          security,
          summary: 'Suspend or reactivate an account',
          params: IdParams,
          body: Type.Object(
            { status: Type.Union([Type.Literal('active'), Type.Literal('suspended')]) },
            { additionalProperties: false },
          ),
          response: { 200: AccountSchema, ...problems(400, 404) },
        },
      },
      async (req) => {
        const a = s.accounts.setStatus(req.params.id, req.body.status);
        req.log.info({ account: a.id, status: a.status }, 'account status changed');
        return accountView(a);
      },
    );

    app.post(
      '/accounts/:id/funds',
      {
        schema: {
          tags,
          security,
          summary: 'Add funds to the descending register',
          params: IdParams,
          body: Type.Object(
            {
              amount_cents: Type.Integer({ minimum: 1, maximum: 100_000_000 }),
              reference: Type.Optional(
                Type.String({ maxLength: 200, description: 'Payment reference, kept in the journal.' }),
              ),
            },
            { additionalProperties: false },
          ),
          response: { 200: AccountSchema, ...problems(400, 404) },
        },
      },
      async (req) => {
        const a = s.accounts.fund(req.params.id, req.body.amount_cents, req.body.reference ?? null);
        req.log.info({ account: a.id, amount_cents: req.body.amount_cents }, 'account funded');
        return accountView(a);
      },
    );

    const ApiKeyView = Type.Object({
      id: Type.String(),
      label: Type.Union([Type.String(), Type.Null()]),
      created_at: Type.String(),
      revoked_at: Type.Union([Type.String(), Type.Null()]),
    });

    app.post(
      '/accounts/:id/api-keys',
      {
        schema: {
          tags,
          security,
          summary: 'Issue another API key (shown once)',
          params: IdParams,
          body: Type.Optional(
            Type.Object(
              { label: Type.Optional(Type.String({ maxLength: 100 })) },
              { additionalProperties: false },
            ),
          ),
          response: { 201: Type.Object({ id: Type.String(), api_key: Type.String() }), ...problems(404) },
        },
      },
      async (req, reply) => {
        const k = s.accounts.addApiKey(req.params.id, req.body.label ?? null);
        req.log.info({ account: req.params.id, api_key_id: k.apiKeyId }, 'api key issued');
        return reply.status(201).send({ id: k.apiKeyId, api_key: k.apiKey });
      },
    );

    app.get(
      '/accounts/:id/api-keys',
      {
        schema: {
          tags,
          security,
          summary: 'List API keys (never the secrets)',
          params: IdParams,
          response: { 200: Type.Object({ api_keys: Type.Array(ApiKeyView) }) },
        },
      },
      async (req) => ({ api_keys: s.accounts.listApiKeys(req.params.id) }),
    );

    app.delete(
      '/accounts/:id/api-keys/:keyId',
      {
        schema: {
          tags,
          security,
          summary: 'Revoke an API key',
          params: Type.Object({ id: Type.String(), keyId: Type.String() }),
          response: { 200: ApiKeyView, ...problems(404) },
        },
      },
      async (req) => {
        const k = s.accounts.revokeApiKey(req.params.id, req.params.keyId);
        req.log.info({ account: req.params.id, api_key_id: k.id }, 'api key revoked');
        return k;
      },
    );

    app.post(
      '/meters/:meter/keys/rotate',
      {
        schema: {
          tags,
          security,
          summary: "Rotate a meter's signing key (the old key stays published, retired)",
          params: Type.Object({ meter: Type.String({ pattern: '^\\d{10}$' }) }),
          response: {
            200: Type.Object({ retired: Type.Union([KeySchema, Type.Null()]), active: KeySchema }),
            ...problems(404),
          },
        },
      },
      async (req) => {
        const r = s.keys.rotate(req.params.meter);
        req.log.info(
          { meter: req.params.meter, retired: r.retired?.key_id, active: r.active.key_id },
          'key rotated',
        );
        const pub = s.keys.list(req.params.meter);
        return {
          retired: pub.find((k) => k.key_id === r.retired?.key_id) ?? null,
          active: pub.find((k) => k.key_id === r.active.key_id)!,
        };
      },
    );

    app.post(
      '/keys/:keyId/revoke',
      {
        schema: {
          tags,
          security,
          summary: 'Revoke a signing key (compromise); an active key is replaced at once',
          params: Type.Object({ keyId: Type.String() }),
          body: Type.Object(
            { reason: Type.String({ minLength: 1, maxLength: 200 }) },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ revoked: KeySchema, replacement: Type.Union([KeySchema, Type.Null()]) }),
            ...problems(404, 409),
          },
        },
      },
      async (req) => {
        const r = s.keys.revoke(req.params.keyId, req.body.reason);
        req.log.warn({ key_id: r.revoked.key_id, reason: req.body.reason }, 'key revoked');
        const pub = s.keys.list(r.revoked.meter);
        return {
          revoked: pub.find((k) => k.key_id === r.revoked.key_id)!,
          replacement: pub.find((k) => k.key_id === r.replacement?.key_id) ?? null,
        };
      },
    );

    app.get(
      '/audit',
      {
        schema: {
          tags,
          security,
          summary: 'Check the journal chain, the registers and the serials',
          querystring: Type.Object({ signatures: Type.Boolean({ default: false }) }),
        },
      },
      async (req) => audit(s.store, { signatures: req.query.signatures }),
    );
  };

export type NewAccountBody = Static<typeof NewAccountBody>;
