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
import { createHash } from 'node:crypto';
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
} from '../indicium/index.ts';
import { type Clock, dateIn } from './clock.ts';
import { CentralError, fail } from './errors.ts';
import { type Price, price, type RateTable } from './rates.ts';
import type { PipelinedSigner, Ticket } from './signer.ts';
import type { AccountRow, IndiciumRow, Store } from './store.ts';

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

  constructor(
    private readonly store: IssuanceStore,
    private readonly signer: Pick<PipelinedSigner, 'submit' | 'collect'>,
    private readonly rates: RateTable,
    private readonly clock: Clock,
    private readonly opts: IssuerOptions,
    private readonly metrics?: IssuerMetrics,
    private readonly log?: (error: unknown) => void,
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
    type Result =
      | { ok: true; value: { view: IssuedView; replayed: boolean } }
      | { ok: false; error: unknown };
    const results: Result[] = new Array(batch.length);
    const t0 = performance.now();
    try {
      this.store.transaction(() => {
        // Steps 2 and 3 per piece, each in its own savepoint; step 4 starts as each record is
        // submitted, so the signer works while the next pieces are reserved.
        const staged: { i: number; s: Staged }[] = [];
        batch.forEach((p, i) => {
          try {
            staged.push({ i, s: this.store.savepoint(() => this.reserveAndBuild(p.v)) });
          } catch (error) {
            results[i] = { ok: false, error };
          }
        });
        // Steps 5 and 6. A signer failure here throws, and the whole group rolls back.
        for (const { i, s } of staged)
          if (s.kind === 'new') results[i] = { ok: true, value: this.checkAndStore(s) };
        // Retries of a key first seen in this same group, now that its piece is stored.
        for (const { i, s } of staged)
          if (s.kind === 'replay')
            results[i] = { ok: true, value: this.replay(s.meter, s.serial, s.accountId) };
      });
    } catch (error) {
      // Nothing in this group was issued: the signer failed or the commit did.
      this.log?.(error);
      for (const p of batch)
        p.reject(
          new CentralError(
            'unavailable',
            'no postage was issued; retry with the same Idempotency-Key',
            undefined,
          ),
        );
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

  /** Steps 2 to 4 for one piece: reserve, build, submit for signing. */
  private reserveAndBuild(v: Validated): Staged {
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
      return { kind: 'replay', meter: seen.meter, serial: seen.serial, accountId: v.accountId };
    }
    const cents = v.price.cents;
    const account = store.debitAndReserve(v.accountId, cents);
    if (!account) {
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
    const serial = account.last_serial;
    const at = this.clock.now().toISOString();
    store.appendJournal({
      at,
      account_id: account.id,
      kind: 'issue',
      amount_cents: cents,
      meter: account.meter,
      serial,
      descending_after: account.descending_cents,
      ascending_after: account.ascending_cents,
      control_after: account.control_cents,
      ref: null,
    });
    store.insertIdempotency(account.id, v.idempotencyKey, v.requestHash, account.meter, serial, at);

    // 3. Build the canonical record.
    const key =
      store.activeKey(account.meter) ?? fail('internal', `meter ${account.meter} has no active key`);
    const record: IndiciumRecord = {
      version: 1,
      algorithm: 'ed25519',
      keyNumber: key.key_number,
      vendor: account.vendor,
      device: account.device,
      serial,
      mailingDate: v.mailingDate,
      postageCents: cents,
      mailClass: v.price.mailClass,
      weightTenthsOz: v.price.weightTenthsOz,
      origin: { zip5: account.origin_zip, plus4: account.origin_plus4 ?? undefined },
      destination: v.destination,
      ascendingCents: account.ascending_cents,
      softwareId: this.opts.softwareId,
    };
    const built = encodeRecord(record);

    // 4. Sign (the signer alone holds the key; with a thread signer this returns at once).
    const ticket = this.signer.submit(key.key_id, built);
    return { kind: 'new', v, account, keyId: key.key_id, record, built, ticket, at };
  }

  /** Steps 5 and 6 for one piece: check what was signed, then store it. */
  private checkAndStore(s: Extract<Staged, { kind: 'new' }>): { view: IssuedView; replayed: boolean } {
    const { account, v, built, record, at } = s;
    const { signature, signed } = this.signer.collect(s.ticket);
    // 5. The signed bytes are the built bytes, and the payload decodes to the record.
    const payload = assemblePayload(built, signature);
    if (!Buffer.from(signed).equals(Buffer.from(built)))
      fail('internal', 'the signer signed other bytes than the record built');
    if (!isDeepStrictEqual(decodeIndicium(payload).record, record))
      fail('internal', 'the signed record differs from the built record');

    // 6. Store the indicium and its event.
    const row = {
      meter: account.meter,
      serial: record.serial,
      account_id: account.id,
      key_id: s.keyId,
      mail_class: record.mailClass,
      weight_tenths_oz: record.weightTenthsOz,
      postage_cents: record.postageCents,
      mailing_date: record.mailingDate,
      destination_zip: v.destination
        ? v.destination.plus4
          ? `${v.destination.zip5}-${v.destination.plus4}`
          : v.destination.zip5
        : null,
      rate_version: v.price.rateVersion,
      payload: Buffer.from(payload),
      created_at: at,
    };
    this.store.insertIndicium(row);
    this.store.appendEvent('indicium.issued', account.meter, at, {
      meter: account.meter,
      serial: record.serial,
      key_id: s.keyId,
      postage_cents: record.postageCents,
      mail_class: row.mail_class,
      mailing_date: row.mailing_date,
      payload: row.payload.toString('base64'),
    });
    return {
      view: issuedView({ ...row, status: 'issued', refunded_at: null }, account, account.descending_cents),
      replayed: false,
    };
  }
}

type Staged =
  | { kind: 'replay'; meter: string; serial: number; accountId: string }
  | {
      kind: 'new';
      v: Validated;
      account: AccountRow;
      keyId: string;
      record: IndiciumRecord;
      built: Uint8Array;
      ticket: Ticket;
      at: string;
    };
