/** Response schemas shared by the routes (they also drive the OpenAPI page at /docs). */
import { type TSchema, Type } from '@sinclair/typebox';
import { ProblemSchema } from './problem.ts';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const AccountSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('suspended')]),
  meter: Type.String({ description: 'Meter number: 2-digit vendor id + 8-digit device number.' }),
  origin: Type.Object({
    zip: Type.String(),
    plus4: Nullable(Type.String()),
    city: Type.String(),
    state: Type.String(),
  }),
  balance_cents: Type.Integer({ description: 'The descending register: postage still available.' }),
  registers: Type.Object({
    descending_cents: Type.Integer(),
    ascending_cents: Type.Integer({ description: 'Total postage dispensed; never decreases.' }),
    control_cents: Type.Integer({ description: 'descending + ascending; equals deposits + refund credits.' }),
    deposited_cents: Type.Integer(),
    refunded_cents: Type.Integer(),
  }),
  pieces_issued: Type.Integer({ description: 'Pieces issued so far; also the last serial.' }),
  created_at: Type.String(),
});

export const KeySchema = Type.Object({
  key_id: Type.String({ description: 'Vendor id and key number, e.g. 41-0000001a; the record carries it.' }),
  meter: Type.String(),
  algorithm: Type.Literal('ed25519'),
  public_key_pem: Type.String(),
  public_key: Type.String({ description: 'Raw 32-byte Ed25519 public key, base64.' }),
  status: Type.Union([Type.Literal('active'), Type.Literal('retired'), Type.Literal('revoked')]),
  valid_from: Type.String(),
  valid_until: Nullable(Type.String()),
  revoked_at: Nullable(Type.String()),
  revocation_reason: Nullable(Type.String()),
});

export const IndiciumSchema = Type.Object({
  meter: Type.String(),
  serial: Type.Integer(),
  key_id: Type.String(),
  status: Type.Union([Type.Literal('issued'), Type.Literal('refunded')]),
  postage_cents: Type.Integer(),
  mail_class: Type.String(),
  weight_oz: Type.Number(),
  mailing_date: Type.String({ format: 'date' }),
  origin: Type.Object({ zip: Type.String(), city: Type.String(), state: Type.String() }),
  destination_zip: Nullable(Type.String()),
  rate_version: Type.String(),
  payload: Type.String({ description: 'base64 of record || signature, exactly the bytes in the barcode.' }),
  human_readable: Type.Array(Type.String()),
  balance_cents: Type.Integer({
    description: 'The descending register right after this piece was issued (or refunded).',
  }),
  created_at: Type.String(),
  refunded_at: Nullable(Type.String()),
  links: Type.Object({ barcode_png: Type.String(), barcode_svg: Type.String(), label_pdf: Type.String() }),
});

/** Problem responses for the listed statuses. */
export function problems(...statuses: number[]): Record<number, typeof ProblemSchema> {
  return Object.fromEntries(statuses.map((s) => [s, ProblemSchema]));
}
