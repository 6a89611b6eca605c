/**
 * The only module that touches the central database (SQLite via better-sqlite3, WAL,
 * synchronous=FULL: a transaction that returned is on disk).
 *
 * Money lives in three places that must agree, and `audit.ts` checks that they do:
 *   - accounts: the registers (descending = available, ascending = dispensed, control = credited);
 *   - journal: every movement, append-only (triggers refuse UPDATE and DELETE), hash-chained;
 *   - indicia: every piece issued, one row per (meter, serial).
 * Invariant: descending + ascending = control, where control = deposits + refund credits.
 * The ascending register never decreases; a refund credits the descending register and the control
 * total instead (see DESIGN.md, "Registers").
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { fail } from './errors.ts';

export type AccountStatus = 'active' | 'suspended';
export type KeyStatus = 'active' | 'retired' | 'revoked';
export type JournalKind = 'fund' | 'issue' | 'refund';

export interface AccountRow {
  id: string;
  name: string;
  origin_zip: string;
  origin_plus4: string | null;
  origin_city: string;
  origin_state: string;
  status: AccountStatus;
  meter: string;
  vendor: number;
  device: number;
  last_serial: number;
  descending_cents: number;
  ascending_cents: number;
  deposited_cents: number;
  refunded_cents: number;
  control_cents: number;
  created_at: string;
}

export interface SigningKeyRow {
  key_id: string;
  meter: string;
  key_number: number;
  public_key: Buffer;
  status: KeyStatus;
  valid_from: string;
  valid_until: string | null;
  revoked_at: string | null;
  revocation_reason: string | null;
  created_at: string;
}

export interface IndiciumRow {
  meter: string;
  serial: number;
  account_id: string;
  key_id: string;
  mail_class: string;
  weight_tenths_oz: number;
  postage_cents: number;
  mailing_date: string;
  destination_zip: string | null;
  rate_version: string;
  payload: Buffer;
  status: 'issued' | 'refunded';
  created_at: string;
  refunded_at: string | null;
}

export interface JournalRow {
  seq: number;
  at: string;
  account_id: string;
  kind: JournalKind;
  amount_cents: number;
  meter: string;
  serial: number | null;
  descending_after: number;
  ascending_after: number;
  control_after: number;
  ref: string | null;
  prev_hash: Buffer;
  hash: Buffer;
}

/** Per meter: how many indicia, their serial range, and the postage issued and refunded. */
export interface MeterSerialStat {
  meter: string;
  n: number;
  min_serial: number;
  max_serial: number;
  issued_cents: number;
  refunded_cents: number;
}

export interface EventRow {
  seq: number;
  type: string;
  meter: string | null;
  at: string;
  body: string;
}

export interface ApiKeyRow {
  id: string;
  account_id: string;
  label: string | null;
  created_at: string;
  revoked_at: string | null;
}

const SCHEMA_VERSION = 1;

const MIGRATIONS: string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    origin_zip TEXT NOT NULL,
    origin_plus4 TEXT,
    origin_city TEXT NOT NULL,
    origin_state TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    meter TEXT NOT NULL UNIQUE,
    vendor INTEGER NOT NULL,
    device INTEGER NOT NULL,
    last_serial INTEGER NOT NULL DEFAULT 0 CHECK (last_serial BETWEEN 0 AND 4294967295),
    descending_cents INTEGER NOT NULL DEFAULT 0 CHECK (descending_cents >= 0),
    ascending_cents INTEGER NOT NULL DEFAULT 0 CHECK (ascending_cents >= 0),
    deposited_cents INTEGER NOT NULL DEFAULT 0 CHECK (deposited_cents >= 0),
    refunded_cents INTEGER NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0),
    control_cents INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    CHECK (descending_cents + ascending_cents = control_cents),
    CHECK (control_cents = deposited_cents + refunded_cents)
  ) STRICT;
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    hash BLOB NOT NULL UNIQUE,
    label TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
  ) STRICT;
  CREATE INDEX api_keys_account ON api_keys(account_id);
  CREATE TABLE signing_keys (
    key_id TEXT PRIMARY KEY,
    meter TEXT NOT NULL,
    key_number INTEGER NOT NULL UNIQUE,
    public_key BLOB NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'retired', 'revoked')),
    valid_from TEXT NOT NULL,
    valid_until TEXT,
    revoked_at TEXT,
    revocation_reason TEXT,
    created_at TEXT NOT NULL
  ) STRICT;
  CREATE INDEX signing_keys_meter ON signing_keys(meter);
  CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys(meter) WHERE status = 'active';
  CREATE TABLE indicia (
    meter TEXT NOT NULL,
    serial INTEGER NOT NULL,
    account_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    mail_class TEXT NOT NULL,
    weight_tenths_oz INTEGER NOT NULL,
    postage_cents INTEGER NOT NULL CHECK (postage_cents > 0),
    mailing_date TEXT NOT NULL,
    destination_zip TEXT,
    rate_version TEXT NOT NULL,
    payload BLOB NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('issued', 'refunded')),
    created_at TEXT NOT NULL,
    refunded_at TEXT,
    PRIMARY KEY (meter, serial)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE idempotency (
    account_id TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    meter TEXT NOT NULL,
    serial INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (account_id, key)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE journal (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    account_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('fund', 'issue', 'refund')),
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    meter TEXT NOT NULL,
    serial INTEGER,
    descending_after INTEGER NOT NULL,
    ascending_after INTEGER NOT NULL,
    control_after INTEGER NOT NULL,
    ref TEXT,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
  ) STRICT;
  CREATE INDEX journal_account ON journal(account_id, seq);
  CREATE INDEX journal_piece ON journal(meter, serial) WHERE serial IS NOT NULL;
  CREATE TRIGGER journal_append_only_update BEFORE UPDATE ON journal
    BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
  CREATE TRIGGER journal_append_only_delete BEFORE DELETE ON journal
    BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    meter TEXT,
    at TEXT NOT NULL,
    body TEXT NOT NULL
  ) STRICT;
  `,
];

export const GENESIS_HASH = Buffer.alloc(32);

/** The bytes a journal row's hash covers: the previous hash, then every field in a fixed order. */
export function journalHash(
  prev: Buffer,
  r: Omit<JournalRow, 'seq' | 'prev_hash' | 'hash'> & { seq: number },
): Buffer {
  const fields = [
    r.seq,
    r.at,
    r.account_id,
    r.kind,
    r.amount_cents,
    r.meter,
    r.serial ?? '',
    r.descending_after,
    r.ascending_after,
    r.control_after,
    r.ref ?? '',
  ].join('\u001f');
  return createHash('sha256').update(prev).update(fields).digest();
}

export interface StoreOptions {
  /** Open read-only (the audit of a live server's data directory). */
  readonly?: boolean;
}

export class Store {
  readonly db: Database.Database;
  private readonly q;

  constructor(path: string, opts: StoreOptions = {}) {
    this.db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
    if (!opts.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = ON');
    }
    this.db.pragma('busy_timeout = 5000');
    if (!opts.readonly) this.migrate();
    const db = this.db;
    this.q = {
      account: db.prepare<[string], AccountRow>('SELECT * FROM accounts WHERE id = ?'),
      accountByMeter: db.prepare<[string], AccountRow>('SELECT * FROM accounts WHERE meter = ?'),
      accountByKeyHash: db.prepare<[Buffer], AccountRow & { api_key_id: string }>(
        `SELECT a.*, k.id AS api_key_id FROM api_keys k JOIN accounts a ON a.id = k.account_id
         WHERE k.hash = ? AND k.revoked_at IS NULL`,
      ),
      lastHash: db.prepare<[], { seq: number; hash: Buffer }>(
        'SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1',
      ),
      insertJournal: db.prepare(
        `INSERT INTO journal (seq, at, account_id, kind, amount_cents, meter, serial, descending_after,
           ascending_after, control_after, ref, prev_hash, hash)
         VALUES (@seq, @at, @account_id, @kind, @amount_cents, @meter, @serial, @descending_after,
           @ascending_after, @control_after, @ref, @prev_hash, @hash)`,
      ),
      debit: db.prepare<[number, number, string, number]>(
        `UPDATE accounts SET descending_cents = descending_cents - ?, ascending_cents = ascending_cents + ?,
           last_serial = last_serial + 1
         WHERE id = ? AND status = 'active' AND descending_cents >= ? AND last_serial < 4294967295
         RETURNING *`,
      ),
      fund: db.prepare<[number, number, number, string]>(
        `UPDATE accounts SET descending_cents = descending_cents + ?, deposited_cents = deposited_cents + ?,
           control_cents = control_cents + ?
         WHERE id = ? RETURNING *`,
      ),
      credit: db.prepare<[number, number, number, string]>(
        `UPDATE accounts SET descending_cents = descending_cents + ?, refunded_cents = refunded_cents + ?,
           control_cents = control_cents + ?
         WHERE id = ? RETURNING *`,
      ),
      idem: db.prepare<[string, string], { request_hash: Buffer; meter: string; serial: number }>(
        'SELECT request_hash, meter, serial FROM idempotency WHERE account_id = ? AND key = ?',
      ),
      insertIdem: db.prepare(
        `INSERT INTO idempotency (account_id, key, request_hash, meter, serial, created_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      insertIndicium: db.prepare(
        `INSERT INTO indicia (meter, serial, account_id, key_id, mail_class, weight_tenths_oz, postage_cents,
           mailing_date, destination_zip, rate_version, payload, status, created_at)
         VALUES (@meter, @serial, @account_id, @key_id, @mail_class, @weight_tenths_oz, @postage_cents,
           @mailing_date, @destination_zip, @rate_version, @payload, 'issued', @created_at)`,
      ),
      indicium: db.prepare<[string, number], IndiciumRow>(
        'SELECT * FROM indicia WHERE meter = ? AND serial = ?',
      ),
      markRefunded: db.prepare<[string, string, number]>(
        `UPDATE indicia SET status = 'refunded', refunded_at = ? WHERE meter = ? AND serial = ? AND status = 'issued'`,
      ),
      insertEvent: db.prepare<[string, string | null, string, string]>(
        'INSERT INTO events (type, meter, at, body) VALUES (?, ?, ?, ?)',
      ),
      eventsAfter: db.prepare<[number, number], EventRow>(
        'SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?',
      ),
      journalFor: db.prepare<[string, number, string], JournalRow>(
        'SELECT * FROM journal WHERE meter = ? AND serial = ? AND kind = ?',
      ),
      activeKey: db.prepare<[string], SigningKeyRow>(
        "SELECT * FROM signing_keys WHERE meter = ? AND status = 'active'",
      ),
    };
  }

  private migrate(): void {
    const current = (this.db.pragma('user_version', { simple: true }) as number) ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new Error(
        `database schema ${current} is newer than this program understands (${SCHEMA_VERSION})`,
      );
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * Run `fn` in one write transaction (BEGIN IMMEDIATE, so two processes on one file serialise).
   * Nested calls become savepoints: a failing piece rolls back alone inside a group commit.
   */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** A savepoint inside the current transaction. */
  savepoint<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  // ---- meta -------------------------------------------------------------------------------------

  getMeta(key: string): string | undefined {
    return this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get(key)
      ?.value;
  }

  setMeta(key: string, value: string): void {
    this.db
      .prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      )
      .run(key, value);
  }

  /** Next value of a named counter (device numbers, key numbers). Call inside a transaction. */
  nextCounter(name: string): number {
    const n = Number(this.getMeta(`counter:${name}`) ?? '0') + 1;
    this.setMeta(`counter:${name}`, String(n));
    return n;
  }

  // ---- accounts ---------------------------------------------------------------------------------

  insertAccount(
    a: Omit<
      AccountRow,
      | 'last_serial'
      | 'descending_cents'
      | 'ascending_cents'
      | 'deposited_cents'
      | 'refunded_cents'
      | 'control_cents'
    >,
  ): void {
    this.db
      .prepare(
        `INSERT INTO accounts (id, name, origin_zip, origin_plus4, origin_city, origin_state, status, meter, vendor, device, created_at)
         VALUES (@id, @name, @origin_zip, @origin_plus4, @origin_city, @origin_state, @status, @meter, @vendor, @device, @created_at)`,
      )
      .run(a);
  }

  account(id: string): AccountRow | undefined {
    return this.q.account.get(id);
  }

  accountByMeter(meter: string): AccountRow | undefined {
    return this.q.accountByMeter.get(meter);
  }

  listAccounts(limit: number, after?: string): AccountRow[] {
    return this.db
      .prepare<[string, number], AccountRow>('SELECT * FROM accounts WHERE id > ? ORDER BY id LIMIT ?')
      .all(after ?? '', limit);
  }

  allAccounts(): IterableIterator<AccountRow> {
    return this.db.prepare<[], AccountRow>('SELECT * FROM accounts ORDER BY id').iterate();
  }

  setAccountStatus(id: string, status: AccountStatus): AccountRow | undefined {
    return this.db
      .prepare<[string, string], AccountRow>('UPDATE accounts SET status = ? WHERE id = ? RETURNING *')
      .get(status, id);
  }

  /** The account behind an API key hash, if the key exists and is not revoked. */
  accountByApiKeyHash(hash: Buffer): (AccountRow & { api_key_id: string }) | undefined {
    return this.q.accountByKeyHash.get(hash);
  }

  insertApiKey(k: {
    id: string;
    account_id: string;
    hash: Buffer;
    label: string | null;
    created_at: string;
  }): void {
    this.db
      .prepare(
        'INSERT INTO api_keys (id, account_id, hash, label, created_at) VALUES (@id, @account_id, @hash, @label, @created_at)',
      )
      .run(k);
  }

  listApiKeys(accountId: string): ApiKeyRow[] {
    return this.db
      .prepare<[string], ApiKeyRow>(
        'SELECT id, account_id, label, created_at, revoked_at FROM api_keys WHERE account_id = ? ORDER BY created_at, id',
      )
      .all(accountId);
  }

  revokeApiKey(accountId: string, keyId: string, at: string): ApiKeyRow | undefined {
    return this.db
      .prepare<[string, string, string], ApiKeyRow>(
        `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE account_id = ? AND id = ?
         RETURNING id, account_id, label, created_at, revoked_at`,
      )
      .get(at, accountId, keyId);
  }

  // ---- money ------------------------------------------------------------------------------------

  /** Append one journal row, chained to the last. Call inside the transaction that moved the money. */
  appendJournal(r: Omit<JournalRow, 'seq' | 'prev_hash' | 'hash'>): JournalRow {
    const last = this.q.lastHash.get();
    const seq = (last?.seq ?? 0) + 1;
    const prev_hash = last?.hash ?? GENESIS_HASH;
    const row: JournalRow = { ...r, seq, prev_hash, hash: journalHash(prev_hash, { ...r, seq }) };
    this.q.insertJournal.run(row);
    return row;
  }

  fund(accountId: string, cents: number, at: string, ref: string | null): AccountRow {
    const a = this.q.fund.get(cents, cents, cents, accountId) as AccountRow | undefined;
    if (!a) return fail('not_found', `no account ${accountId}`);
    this.appendJournal({
      at,
      account_id: a.id,
      kind: 'fund',
      amount_cents: cents,
      meter: a.meter,
      serial: null,
      descending_after: a.descending_cents,
      ascending_after: a.ascending_cents,
      control_after: a.control_cents,
      ref,
    });
    return a;
  }

  /**
   * Debit the postage and take the next serial, atomically; returns the account as it stands after
   * (last_serial is the piece's serial). Undefined if the account is not active, the balance is
   * short, or the meter is exhausted; the caller reads the account to say which.
   */
  debitAndReserve(accountId: string, cents: number): AccountRow | undefined {
    return this.q.debit.get(cents, cents, accountId, cents) as AccountRow | undefined;
  }

  credit(accountId: string, cents: number): AccountRow {
    const a = this.q.credit.get(cents, cents, cents, accountId) as AccountRow | undefined;
    if (!a) return fail('not_found', `no account ${accountId}`);
    return a;
  }

  // ---- idempotency and indicia ------------------------------------------------------------------

  idempotent(
    accountId: string,
    key: string,
  ): { request_hash: Buffer; meter: string; serial: number } | undefined {
    return this.q.idem.get(accountId, key);
  }

  insertIdempotency(
    accountId: string,
    key: string,
    requestHash: Buffer,
    meter: string,
    serial: number,
    at: string,
  ): void {
    this.q.insertIdem.run(accountId, key, requestHash, meter, serial, at);
  }

  insertIndicium(r: Omit<IndiciumRow, 'status' | 'refunded_at'>): void {
    this.q.insertIndicium.run(r);
  }

  indicium(meter: string, serial: number): IndiciumRow | undefined {
    return this.q.indicium.get(meter, serial);
  }

  listIndicia(accountId: string, limit: number, beforeSerial?: number): IndiciumRow[] {
    return this.db
      .prepare<[string, number, number], IndiciumRow>(
        'SELECT * FROM indicia WHERE account_id = ? AND serial < ? ORDER BY serial DESC LIMIT ?',
      )
      .all(accountId, beforeSerial ?? Number.MAX_SAFE_INTEGER, limit);
  }

  /** The journal row of a piece's issue (or refund), for the registers as they stood after it. */
  journalFor(meter: string, serial: number, kind: JournalKind): JournalRow | undefined {
    return this.q.journalFor.get(meter, serial, kind);
  }

  markRefunded(meter: string, serial: number, at: string): boolean {
    return this.q.markRefunded.run(at, meter, serial).changes === 1;
  }

  // ---- signing keys -----------------------------------------------------------------------------

  insertSigningKey(k: Omit<SigningKeyRow, 'valid_until' | 'revoked_at' | 'revocation_reason'>): void {
    this.db
      .prepare(
        `INSERT INTO signing_keys (key_id, meter, key_number, public_key, status, valid_from, created_at)
         VALUES (@key_id, @meter, @key_number, @public_key, @status, @valid_from, @created_at)`,
      )
      .run(k);
  }

  activeKey(meter: string): SigningKeyRow | undefined {
    return this.q.activeKey.get(meter);
  }

  signingKey(keyId: string): SigningKeyRow | undefined {
    return this.db.prepare<[string], SigningKeyRow>('SELECT * FROM signing_keys WHERE key_id = ?').get(keyId);
  }

  listSigningKeys(meter?: string): SigningKeyRow[] {
    return meter
      ? this.db
          .prepare<[string], SigningKeyRow>('SELECT * FROM signing_keys WHERE meter = ? ORDER BY key_number')
          .all(meter)
      : this.db.prepare<[], SigningKeyRow>('SELECT * FROM signing_keys ORDER BY key_number').all();
  }

  retireKey(keyId: string, at: string): void {
    this.db
      .prepare(
        "UPDATE signing_keys SET status = 'retired', valid_until = ? WHERE key_id = ? AND status = 'active'",
      )
      .run(at, keyId);
  }

  revokeKey(keyId: string, at: string, reason: string): SigningKeyRow | undefined {
    return this.db
      .prepare<[string, string, string, string], SigningKeyRow>(
        `UPDATE signing_keys SET status = 'revoked', revoked_at = ?, revocation_reason = ?,
           valid_until = COALESCE(valid_until, ?)
         WHERE key_id = ? AND status != 'revoked' RETURNING *`,
      )
      .get(at, reason, at, keyId);
  }

  // ---- events (the outbox for indicia.events) ---------------------------------------------------

  appendEvent(type: string, meter: string | null, at: string, body: object): number {
    return Number(this.q.insertEvent.run(type, meter, at, JSON.stringify(body)).lastInsertRowid);
  }

  eventsAfter(cursor: number, limit: number): EventRow[] {
    return this.q.eventsAfter.all(cursor, limit);
  }

  lastEventSeq(): number {
    return this.db.prepare<[], { s: number | null }>('SELECT MAX(seq) AS s FROM events').get()?.s ?? 0;
  }

  // ---- audit reads ------------------------------------------------------------------------------

  journal(): IterableIterator<JournalRow> {
    return this.db.prepare<[], JournalRow>('SELECT * FROM journal ORDER BY seq').iterate();
  }

  journalTotals(): { account_id: string; kind: JournalKind; total: number; n: number }[] {
    return this.db
      .prepare<[], { account_id: string; kind: JournalKind; total: number; n: number }>(
        'SELECT account_id, kind, SUM(amount_cents) AS total, COUNT(*) AS n FROM journal GROUP BY account_id, kind',
      )
      .all();
  }

  meterSerialStats(): MeterSerialStat[] {
    return this.db
      .prepare<[], MeterSerialStat>(
        `SELECT meter, COUNT(*) AS n, MIN(serial) AS min_serial, MAX(serial) AS max_serial,
           SUM(postage_cents) AS issued_cents,
           SUM(CASE WHEN status = 'refunded' THEN postage_cents ELSE 0 END) AS refunded_cents
         FROM indicia GROUP BY meter`,
      )
      .all();
  }

  /** Issue journal rows without an indicium, or indicia without an issue journal row. */
  orphans(): {
    journal_without_indicium: number;
    indicium_without_journal: number;
    idempotency_dangling: number;
  } {
    const one = (sql: string) => this.db.prepare<[], { n: number }>(sql).get()!.n;
    return {
      journal_without_indicium: one(
        `SELECT COUNT(*) AS n FROM journal j WHERE j.kind = 'issue'
         AND NOT EXISTS (SELECT 1 FROM indicia i WHERE i.meter = j.meter AND i.serial = j.serial)`,
      ),
      indicium_without_journal: one(
        `SELECT COUNT(*) AS n FROM indicia i WHERE NOT EXISTS
         (SELECT 1 FROM journal j WHERE j.kind = 'issue' AND j.meter = i.meter AND j.serial = i.serial)`,
      ),
      idempotency_dangling: one(
        `SELECT COUNT(*) AS n FROM idempotency d WHERE NOT EXISTS
         (SELECT 1 FROM indicia i WHERE i.meter = d.meter AND i.serial = d.serial)`,
      ),
    };
  }

  indicia(): IterableIterator<IndiciumRow> {
    return this.db.prepare<[], IndiciumRow>('SELECT * FROM indicia ORDER BY meter, serial').iterate();
  }

  counts(): { accounts: number; indicia: number; journal: number; events: number } {
    const one = (t: string) => this.db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM ${t}`).get()!.n;
    return {
      accounts: one('accounts'),
      indicia: one('indicia'),
      journal: one('journal'),
      events: one('events'),
    };
  }
}
