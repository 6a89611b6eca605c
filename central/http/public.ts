/**
 * /v1: what mailers and the postal authority call.
 *   - mailers (API key): the account, buying postage, barcodes, labels, refunds;
 *   - the authority (no key): the published keys; (feed or admin token) the event feed.
 */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import {
  encodeMatrix,
  renderPng,
  renderSvg,
  SYMBOLOGIES,
  type Symbology,
} from '../../indicium/barcode/index.ts';
import { accountView } from '../accounts.ts';
import type { Services } from '../app.ts';
import { wasUsed } from '../authority.ts';
import { CentralError, fail } from '../errors.ts';
import { issuedView } from '../issuance.ts';
import { LABEL_LAYOUTS, type LabelLayout, labelPdf, labelPng, labelSvg } from '../label.ts';
import type { AccountRow } from '../store.ts';
import { bearer, tokenMatches } from './admin.ts';
import { AccountSchema, IndiciumSchema, KeySchema, problems } from './schemas.ts';

declare module 'fastify' {
  interface FastifyRequest {
    account?: AccountRow;
  }
}

const PieceParams = Type.Object({
  meter: Type.String({ pattern: '^\\d{10}$' }),
  serial: Type.Integer({ minimum: 1, maximum: 4294967295 }),
});

const IssueBody = Type.Object(
  {
    mail_class: Type.String({
      maxLength: 32,
      description: 'letter, postcard, flat, parcel or priority (see the rate table).',
    }),
    weight_oz: Type.Number({
      exclusiveMinimum: 0,
      maximum: 100_000,
      description: 'Weight in ounces; priced by the next step up.',
    }),
    destination_zip: Type.Optional(Type.String({ maxLength: 10, description: 'Destination ZIP or ZIP+4.' })),
    mailing_date: Type.Optional(
      Type.String({
        maxLength: 10,
        description: 'YYYY-MM-DD; default today. From yesterday to 30 days ahead.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const publicRoutes =
  (s: Services): FastifyPluginAsyncTypebox =>
  async (app) => {
    const mailer = [{ apiKey: [] }];

    /** Resolve the API key; refuse missing, unknown or revoked keys and suspended accounts. */
    const authenticate = async (req: FastifyRequest) => {
      const token = bearer(req.headers.authorization);
      if (!token)
        throw new CentralError('unauthenticated', 'send the API key as "Authorization: Bearer sp_live_..."');
      const a = s.accounts.authenticate(token);
      if (!a) throw new CentralError('unauthenticated', 'the API key is not valid or was revoked');
      if (a.status !== 'active') throw new CentralError('account_suspended', `account ${a.id} is suspended`);
      req.account = a;
    };

    /** A piece of the caller's account; another account's piece is not found. */
    const ownPiece = (req: FastifyRequest, meter: string, serial: number) => {
      const row = s.store.indicium(meter, serial);
      if (!row || row.account_id !== req.account!.id)
        return fail('not_found', `no indicium ${meter}/${serial} on this account`);
      return row;
    };

    app.get(
      '/keys',
      {
        schema: {
          tags: ['authority'],
          summary: 'Every signing key, with its status and validity (public)',
          querystring: Type.Object({ meter: Type.Optional(Type.String({ pattern: '^\\d{10}$' })) }),
          response: { 200: Type.Object({ keys: Type.Array(KeySchema) }) },
        },
      },
      async (req, reply) => {
        reply.header('cache-control', 'public, max-age=60');
        return { keys: s.keys.list(req.query.meter) };
      },
    );

    app.get(
      '/events',
      {
        schema: {
          tags: ['authority'],
          summary: 'The indicia.events feed from a cursor (catch-up for a consumer that was away)',
          description:
            'Feed token or admin token. Events are in commit order; `next` is the cursor for the following call. See central/EVENTS.md.',
          querystring: Type.Object({
            after: Type.Integer({ minimum: 0, default: 0 }),
            limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
          }),
          response: {
            200: Type.Object({
              events: Type.Array(
                Type.Object({
                  seq: Type.Integer(),
                  type: Type.String(),
                  meter: Type.Union([Type.String(), Type.Null()]),
                  at: Type.String(),
                  data: Type.Unknown(),
                }),
              ),
              next: Type.Integer(),
            }),
            ...problems(401, 403),
          },
        },
      },
      async (req) => {
        const token = bearer(req.headers.authorization);
        if (!tokenMatches(token, s.config.adminToken) && !tokenMatches(token, s.config.feedToken)) {
          throw new CentralError(token ? 'forbidden' : 'unauthenticated', 'the feed token is required');
        }
        const rows = s.store.eventsAfter(req.query.after, req.query.limit);
        return {
          events: rows.map((e) => ({
            seq: e.seq,
            type: e.type,
            meter: e.meter,
            at: e.at,
            data: JSON.parse(e.body) as unknown,
          })),
          next: rows.length ? rows[rows.length - 1]!.seq : req.query.after,
        };
      },
    );

    const mailerRoutes: FastifyPluginAsyncTypebox = async (mailerApp) => {
      mailerApp.addHook('onRequest', authenticate);

      mailerApp.get(
        '/account',
        {
          schema: {
            tags: ['mailer'],
            security: mailer,
            summary: 'Balance, registers and pieces issued',
            response: { 200: AccountSchema, ...problems(401, 403) },
          },
        },
        async (req) => accountView(s.store.account(req.account!.id)!),
      );

      mailerApp.post(
        '/indicia',
        {
          schema: {
            tags: ['mailer'],
            security: mailer,
            summary: 'Buy postage for one mail piece',
            description:
              'Requires an Idempotency-Key header: a retry with the same key and body returns the same indicium and debits once; ' +
              'the same key with another body is 422 idempotency_key_reused. The postage comes from the rate table.',
            headers: Type.Object({
              'idempotency-key': Type.Optional(
                Type.String({
                  maxLength: 255,
                  description: 'Required: 1 to 255 printable ASCII characters, unique per purchase.',
                }),
              ),
            }),
            body: IssueBody,
            response: { 201: IndiciumSchema, ...problems(400, 401, 402, 403, 409, 422, 429, 503) },
          },
        },
        async (req, reply) => {
          const key = req.headers['idempotency-key'];
          if (typeof key !== 'string' || !key)
            throw new CentralError(
              'idempotency_key_required',
              'send an Idempotency-Key header (e.g. a UUID)',
            );
          const { view, replayed } = await s.issuer.issue(req.account!.id, key, req.body);
          if (replayed) reply.header('idempotent-replayed', 'true');
          reply.header('location', `/v1/indicia/${view.meter}/${view.serial}`);
          return reply.status(201).send(view);
        },
      );

      mailerApp.get(
        '/indicia',
        {
          schema: {
            tags: ['mailer'],
            security: mailer,
            summary: "The account's indicia, newest first",
            querystring: Type.Object({
              limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
              before: Type.Optional(Type.Integer({ minimum: 1 })),
            }),
            response: { 200: Type.Object({ indicia: Type.Array(IndiciumSchema) }) },
          },
        },
        async (req) => {
          const a = req.account!;
          const rows = s.store.listIndicia(a.id, req.query.limit, req.query.before);
          return {
            indicia: rows.map((r) =>
              issuedView(r, a, s.store.journalFor(r.meter, r.serial, 'issue')!.descending_after),
            ),
          };
        },
      );

      mailerApp.get(
        '/indicia/:meter/:serial',
        {
          schema: {
            tags: ['mailer'],
            security: mailer,
            summary: 'One indicium',
            params: PieceParams,
            response: { 200: IndiciumSchema, ...problems(401, 404) },
          },
        },
        async (req) => {
          const row = ownPiece(req, req.params.meter, req.params.serial);
          return issuedView(
            row,
            req.account!,
            s.store.journalFor(row.meter, row.serial, 'issue')!.descending_after,
          );
        },
      );

      const BarcodeQuery = Type.Object({
        symbology: Type.Union(
          SYMBOLOGIES.map((x) => Type.Literal(x)),
          { default: 'pdf417' },
        ),
        module: Type.Integer({ minimum: 1, maximum: 20, default: 4, description: 'Pixels per module.' }),
      });

      for (const ext of ['png', 'svg'] as const) {
        mailerApp.get(
          `/indicia/:meter/:serial/barcode.${ext}`,
          {
            schema: {
              tags: ['mailer'],
              security: mailer,
              summary: `The barcode as ${ext.toUpperCase()} (PDF417 by default, or Data Matrix)`,
              params: PieceParams,
              querystring: BarcodeQuery,
              response: {
                200: Type.Unknown({ description: ext === 'png' ? 'image/png' : 'image/svg+xml' }),
                ...problems(401, 404),
              },
            },
          },
          async (req, reply) => {
            const row = ownPiece(req, req.params.meter, req.params.serial);
            const m = await encodeMatrix(new Uint8Array(row.payload), req.query.symbology as Symbology);
            reply.header('cache-control', 'private, max-age=86400');
            if (ext === 'png')
              return reply.type('image/png').send(renderPng(m, { moduleSize: req.query.module }));
            return reply.type('image/svg+xml').send(renderSvg(m, { moduleSize: req.query.module }));
          },
        );
      }

      mailerApp.get(
        '/indicia/:meter/:serial/label.:format',
        {
          schema: {
            tags: ['mailer'],
            security: mailer,
            summary: 'A printable label: PDF, PNG (300 dpi) or SVG; #10 envelope corner or 4x6 label',
            params: Type.Object({
              meter: Type.String({ pattern: '^\\d{10}$' }),
              serial: Type.Integer({ minimum: 1, maximum: 4294967295 }),
              format: Type.Union([Type.Literal('pdf'), Type.Literal('png'), Type.Literal('svg')]),
            }),
            querystring: Type.Object({
              layout: Type.Union(
                LABEL_LAYOUTS.map((x) => Type.Literal(x)),
                { default: 'envelope' },
              ),
              symbology: Type.Union(
                SYMBOLOGIES.map((x) => Type.Literal(x)),
                { default: 'pdf417' },
              ),
            }),
            response: {
              200: Type.Unknown({ description: 'application/pdf, image/png or image/svg+xml' }),
              ...problems(401, 404),
            },
          },
        },
        async (req, reply) => {
          const a = req.account!;
          const row = ownPiece(req, req.params.meter, req.params.serial);
          const item = {
            payload: new Uint8Array(row.payload),
            origin: { city: a.origin_city, state: a.origin_state },
            symbology: req.query.symbology as Symbology,
          };
          const layout = req.query.layout as LabelLayout;
          if (req.params.format === 'pdf')
            return reply.type('application/pdf').send(await labelPdf([item], layout));
          if (req.params.format === 'png') return reply.type('image/png').send(await labelPng(item, layout));
          return reply.type('image/svg+xml').send(await labelSvg(item, layout));
        },
      );

      mailerApp.post(
        '/indicia/:meter/:serial/refund',
        {
          schema: {
            tags: ['mailer'],
            security: mailer,
            summary: 'Void an unused indicium within the refund window; the postage returns to the balance',
            params: PieceParams,
            body: Type.Optional(
              Type.Object(
                { reason: Type.Optional(Type.String({ maxLength: 200 })) },
                { additionalProperties: false },
              ),
            ),
            response: { 200: IndiciumSchema, ...problems(401, 404, 409, 422, 503) },
          },
        },
        async (req) => {
          // Used postage is not refundable: ask the authority first, when one is configured.
          const own = ownPiece(req, req.params.meter, req.params.serial);
          if (
            s.config.authorityUrl &&
            own.status === 'issued' &&
            (await wasUsed(s.config.authorityUrl, own.meter, own.serial))
          ) {
            throw new CentralError(
              'indicium_used',
              `indicium ${own.meter}/${own.serial} was scanned in the mail stream`,
            );
          }
          const v = s.refunds.refund(
            req.account!.id,
            req.params.meter,
            req.params.serial,
            req.body.reason ?? null,
          );
          req.log.info(
            { meter: v.meter, serial: v.serial, postage_cents: v.postage_cents },
            'indicium refunded',
          );
          return v;
        },
      );
    };
    await app.register(mailerRoutes);
  };
