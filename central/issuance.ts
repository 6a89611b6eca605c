/**
 * The issuance cycle (ISSUANCE-CYCLE.md). Requests are validated, queued, and issued in groups:
 * one SQLite transaction (one fsync) per group, each piece in its own savepoint so that a refused
 * piece rolls back alone. Inside the transaction, per piece:
 *   1. (before queueing) validate the request and price it from the rate table;
 *   2. idempotency key, debit, next serial and journal row;
 *   3. build the canonical record;
 *   4. sign it (the signer alone holds the key);
 *   5. check that the signed bytes are the built bytes, the payload decodes to the record, and
 *      the signature verifies under the published key;
 *   6. store the indicium and its `indicium.issued` event.
 * Nothing is answered before the transaction has committed.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import {
  assemblePayload,
  dateToDays,
  decodeIndicium,
  encodeRecord,
  humanReadable,
  type IndiciumRecord,
  lookupZip,
  parseZip,
  publicKeyFromRaw,
  verifySignature,
} from '../indicium/index.ts';
import { type Clock, dateIn } from './clock.ts';
import { CentralError, fail } from './errors.ts';
import { type Price, price, type RateTable } from './rates.ts';
import type { Signer } from './signer.ts';
import type { AccountRow, IndiciumRow, SigningKeyRow, Store } from './store.ts';

/** What the issuer needs from the store, and no more (STYLE point 2). */
export type IssuanceStore = Pick<
  Store,
  | 'transaction'
  | 'savepoint'
  | 'idempotent'
  | 'insertIdempotency'
  | 'debitAndReserve'
  | 'account'
  | 'appendJournal'
  | 'activeKey'
  | 'signingKey'
  | 'insertIndicium'
  | 'indicium'
  | 'journalFor'
  | 'appendEvent'
>;

export interface IssueRequest {
  mail_class: string;
  weight_oz: number;
  destination_zip?: string | undefined;
  mailing_date?: string | undefined;
}

export interface IssuerOptions {
  softwareId: number;
  /** IANA zone whose calendar gives the default mailing date. */
  timeZone: string;
  /** How many days ahead a mailing date may be. */
  maxAdvanceDays: number;
  /** Most pieces in one transaction. */
  maxBatch: number;
  /** Verify each signature before storing it (a guard against signer faults). */
  verifyAfterSign: boolean;
}

export interface IssuedView {
  meter: string;
  serial: number;
  key_id: string;
  status: IndiciumRow['status'];
  postage_cents: number;
  mail_class: string;
  weight_oz: number;
  mailing_date: string;
  origin: { zip: string; city: string; state: string };
  destination_zip: string | null;
  rate_version: string;
  /** base64 of record || signature: the bytes in the barcode. */
  payload: string;
  human_readable: string[];
  /** The descending register right after this piece was issued. */
  balance_cents: number;
  created_at: string;
  refunded_at: string | null;
  links: { barcode_png: string; barcode_svg: string; label_pdf: string };
}

export function issuedView(row: IndiciumRow, account: AccountRow, balanceAfter: number): IssuedView {
  const d = decodeIndicium(new Uint8Array(row.payload));
  const base = `/v1/indicia/${row.meter}/${row.serial}`;
  return {
    meter: row.meter,
    serial: row.serial,
    key_id: row.key_id,
    status: row.status,
    postage_cents: row.postage_cents,
    mail_class: row.mail_class,
    weight_oz: row.weight_tenths_oz / 10,
    mailing_date: row.mailing_date,
    origin: { zip: account.origin_zip, city: account.origin_city, state: account.origin_state },
    destination_zip: row.destination_zip,
    rate_version: row.rate_version,
    payload: row.payload.toString('base64'),
    human_readable: humanReadable(d.record, { city: account.origin_city, state: account.origin_state }).lines,
    balance_cents: balanceAfter,
    created_at: row.created_at,
    refunded_at: row.refunded_at,
    links: {
      barcode_png: `${base}/barcode.png`,
      barcode_svg: `${base}/barcode.svg`,
      label_pdf: `${base}/label.pdf`,
    },
  };
}

interface Validated {
  accountId: string;
  idempotencyKey: string;
  requestHash: Buffer;
  price: Price;
  destination: { zip5: string; plus4?: string | undefined } | undefined;
  mailingDate: string;
}

interface Pending {
  v: Validated;
  resolve: (r: { view: IssuedView; replayed: boolean }) => void;
  reject: (e: unknown) => void;
}

export interface IssuerMetrics {
  batch(size: number, commitSeconds: number): void;
  issued(mailClass: string): void;
}

const DAY = 86_400_000;

export class Issuer {
  private queue: Pending[] = [];
  private scheduled = false;
  private inflight = 0;
  private closed = false;
  private readonly keyObjects = new Map<string, KeyObject>();

  constructor(
    private readonly store: IssuanceStore,
    private readonly signer: Pick<Signer, 'sign'>,
    private readonly rates: RateTable,
    private readonly clock: Clock,
    private readonly opts: IssuerOptions,
    private readonly metrics?: IssuerMetrics,
  ) {}

  /** Step 1: everything that can be refused without touching money. */
  validate(accountId: string, idempotencyKey: string, req: IssueRequest): Validated {
    const p = price(this.rates, req.mail_class, req.weight_oz);
    let destination: Validated['destination'];
    if (req.destination_zip !== undefined) {
      destination = parseZip(req.destination_zip);
      if (!destination) fail('invalid_zip', `destination_zip "${req.destination_zip}" is not a ZIP Code`);
      else if (!lookupZip(destination.zip5))
        fail('invalid_zip', `destination ZIP ${destination.zip5} does not exist`);
    }
    const now = this.clock.now();
    const today = dateIn(now, this.opts.timeZone);
    const mailingDate = req.mailing_date ?? today;
    const days = dateToDays(mailingDate);
    const todayDays = dateToDays(today)!;
    // One day back covers a mailer west of the server's zone; no further (no backdating).
    if (days === undefined || days < todayDays - 1 || days > todayDays + this.opts.maxAdvanceDays) {
      fail(
        'invalid_mailing_date',
        `mailing_date must be a date from ${dateIn(new Date(now.getTime() - DAY), this.opts.timeZone)} to ` +
          `${dateIn(new Date(now.getTime() + this.opts.maxAdvanceDays * DAY), this.opts.timeZone)}`,
      );
    }
    if (!/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) {
      fail('invalid_request', 'Idempotency-Key must be 1 to 255 printable ASCII characters');
    }
    const canonical = JSON.stringify([
      req.mail_class,
      req.weight_oz,
      req.destination_zip ?? null,
      req.mailing_date ?? null,
    ]);
    return {
      accountId,
      idempotencyKey,
      requestHash: createHash('sha256').update(canonical).digest(),
      price: p,
      destination,
      mailingDate,
    };
  }

  /** Issue one piece; resolves after its group's transaction has committed. */
  issue(
    accountId: string,
    idempotencyKey: string,
    req: IssueRequest,
  ): Promise<{ view: IssuedView; replayed: boolean }> {
    if (this.closed) return Promise.reject(new CentralError('unavailable', 'the signer is shutting down'));
    const v = this.validate(accountId, idempotencyKey, req);
    return new Promise((resolve, reject) => {
      this.queue.push({ v, resolve, reject });
      this.inflight++;
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Stop taking requests and wait until every queued piece is answered. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.inflight > 0) await new Promise((r) => setTimeout(r, 5));
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue.splice(0, this.opts.maxBatch);
    if (this.queue.length > 0) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    const results: (
      | { ok: true; value: { view: IssuedView; replayed: boolean } }
      | { ok: false; error: unknown }
    )[] = [];
    const t0 = performance.now();
    try {
      this.store.transaction(() => {
        for (const p of batch) {
          try {
            results.push({ ok: true, value: this.store.savepoint(() => this.issueOne(p.v)) });
          } catch (error) {
            results.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      // The commit itself failed (disk, lock): nothing in this group was issued.
      const e = new CentralError(
        'unavailable',
        'the ledger could not commit; retry with the same Idempotency-Key',
      );
      for (const p of batch) p.reject(Object.assign(e, { cause: error }));
      this.inflight -= batch.length;
      return;
    }
    this.metrics?.batch(batch.length, (performance.now() - t0) / 1000);
    batch.forEach((p, i) => {
      const r = results[i]!;
      if (r.ok) {
        if (!r.value.replayed) this.metrics?.issued(r.value.view.mail_class);
        p.resolve(r.value);
      } else p.reject(r.error);
    });
    this.inflight -= batch.length;
  }

  private replay(meter: string, serial: number, accountId: string): { view: IssuedView; replayed: boolean } {
    const row = this.store.indicium(meter, serial)!;
    const account = this.store.account(accountId)!;
    const j = this.store.journalFor(meter, serial, 'issue')!;
    return { view: issuedView(row, account, j.descending_after), replayed: true };
  }

  private publicKey(k: SigningKeyRow): KeyObject {
    let key = this.keyObjects.get(k.key_id);
    if (!key) {
      key = publicKeyFromRaw(k.public_key);
      this.keyObjects.set(k.key_id, key);
    }
    return key;
  }

  private issueOne(v: Validated): { view: IssuedView; replayed: boolean } {
    const { store } = this;
    // 2. Idempotency key, debit, next serial, journal row.
    const seen = store.idempotent(v.accountId, v.idempotencyKey);
    if (seen) {
      if (!seen.request_hash.equals(v.requestHash)) {
        fail(
          'idempotency_key_reused',
          `Idempotency-Key "${v.idempotencyKey}" was first used for a different request`,
        );
      }
      return this.replay(seen.meter, seen.serial, v.accountId);
    }
    const cents = v.price.cents;
    const reserved = store.debitAndReserve(v.accountId, cents);
    if (!reserved) {
      const a = store.account(v.accountId);
      if (!a) return fail('not_found', 'no such account');
      if (a.status !== 'active') return fail('account_suspended', `account ${a.id} is suspended`);
      if (a.last_serial >= 0xffff_ffff)
        return fail('meter_exhausted', `meter ${a.meter} has no serials left`);
      return fail(
        'insufficient_funds',
        `the balance is ${a.descending_cents} cents and the postage is ${cents} cents`,
        {
          balance_cents: a.descending_cents,
          postage_cents: cents,
        },
      );
    }
    const account = store.account(v.accountId)!;
    const at = this.clock.now().toISOString();
    store.appendJournal({
      at,
      account_id: account.id,
      kind: 'issue',
      amount_cents: cents,
      meter: account.meter,
      serial: reserved.serial,
      descending_after: reserved.descending,
      ascending_after: reserved.ascending,
      control_after: reserved.control,
      ref: null,
    });
    store.insertIdempotency(account.id, v.idempotencyKey, v.requestHash, account.meter, reserved.serial, at);

    // 3. Build the canonical record.
    const key =
      store.activeKey(account.meter) ?? fail('internal', `meter ${account.meter} has no active key`);
    const record: IndiciumRecord = {
      version: 1,
      algorithm: 'ed25519',
      keyNumber: key.key_number,
      vendor: account.vendor,
      device: account.device,
      serial: reserved.serial,
      mailingDate: v.mailingDate,
      postageCents: cents,
      mailClass: v.price.mailClass,
      weightTenthsOz: v.price.weightTenthsOz,
      origin: { zip5: account.origin_zip, plus4: account.origin_plus4 ?? undefined },
      destination: v.destination,
      ascendingCents: reserved.ascending,
      softwareId: this.opts.softwareId,
    };
    const built = encodeRecord(record);

    // 4. Sign.
    const signature = this.signer.sign(key.key_id, built);

    // 5. The signed bytes are the built bytes, they decode to the record, and the signature holds.
    const payload = assemblePayload(built, signature);
    const decoded = decodeIndicium(payload);
    if (
      !Buffer.from(decoded.signed).equals(Buffer.from(built)) ||
      !isDeepStrictEqual(decoded.record, record)
    ) {
      fail('internal', 'the signed record differs from the built record');
    }
    if (this.opts.verifyAfterSign && !verifySignature(built, signature, this.publicKey(key))) {
      fail('internal', `signature check failed for key ${key.key_id}`);
    }

    // 6. Store the indicium and its event.
    const row = {
      meter: account.meter,
      serial: reserved.serial,
      account_id: account.id,
      key_id: key.key_id,
      mail_class: v.price.mailClass,
      weight_tenths_oz: v.price.weightTenthsOz,
      postage_cents: cents,
      mailing_date: v.mailingDate,
      destination_zip: v.destination
        ? v.destination.plus4
          ? `${v.destination.zip5}-${v.destination.plus4}`
          : v.destination.zip5
        : null,
      rate_version: v.price.rateVersion,
      payload: Buffer.from(payload),
      created_at: at,
    };
    store.insertIndicium(row);
    store.appendEvent('indicium.issued', account.meter, at, {
      meter: account.meter,
      serial: reserved.serial,
      key_id: key.key_id,
      postage_cents: cents,
      mail_class: row.mail_class,
      mailing_date: row.mailing_date,
      payload: row.payload.toString('base64'),
    });
    return {
      view: issuedView({ ...row, status: 'issued', refunded_at: null }, account, reserved.descending),
      replayed: false,
    };
  }
}
