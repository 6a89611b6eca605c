/**
 * Accounts, their API keys and their funding. An account is one mailer with one virtual meter
 * (vendor id + device number) licensed at one origin ZIP. API keys are 256-bit random tokens,
 * shown once, stored as SHA-256 hashes; an account may hold several and revoke each.
 */
import { createHash, randomBytes } from 'node:crypto';
import { LIMITS, lookupZip, meterString, parseZip } from '../indicium/index.ts';
import type { Clock } from './clock.ts';
import { fail } from './errors.ts';
import type { KeyManager } from './keys.ts';
import type { AccountRow, ApiKeyRow, Store } from './store.ts';

export const API_KEY_PREFIX = 'sp_live_';
const API_KEY_RE = /^sp_live_[A-Za-z0-9_-]{43}$/;

export function hashApiKey(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

function newId(prefix: string): string {
  return prefix + randomBytes(10).toString('hex');
}

export interface NewAccount {
  name: string;
  origin_zip: string;
  origin_city?: string | undefined;
  origin_state?: string | undefined;
}

export interface AccountView {
  id: string;
  name: string;
  status: AccountRow['status'];
  meter: string;
  origin: { zip: string; plus4: string | null; city: string; state: string };
  balance_cents: number;
  registers: {
    descending_cents: number;
    ascending_cents: number;
    control_cents: number;
    deposited_cents: number;
    refunded_cents: number;
  };
  pieces_issued: number;
  created_at: string;
}

export function accountView(a: AccountRow): AccountView {
  return {
    id: a.id,
    name: a.name,
    status: a.status,
    meter: a.meter,
    origin: { zip: a.origin_zip, plus4: a.origin_plus4, city: a.origin_city, state: a.origin_state },
    balance_cents: a.descending_cents,
    registers: {
      descending_cents: a.descending_cents,
      ascending_cents: a.ascending_cents,
      control_cents: a.control_cents,
      deposited_cents: a.deposited_cents,
      refunded_cents: a.refunded_cents,
    },
    pieces_issued: a.last_serial,
    created_at: a.created_at,
  };
}

/** The largest single deposit: $1,000,000.00. */
export const MAX_FUNDING_CENTS = 100_000_000;

export class Accounts {
  constructor(
    private readonly store: Store,
    private readonly keys: KeyManager,
    private readonly clock: Clock,
    private readonly vendor: number,
  ) {}

  create(input: NewAccount): { account: AccountRow; apiKey: string; apiKeyId: string } {
    const name = input.name.trim();
    if (!name || name.length > 200) fail('invalid_request', 'name must be 1 to 200 characters');
    const zip = parseZip(input.origin_zip);
    if (!zip)
      return fail('invalid_zip', `origin_zip "${input.origin_zip}" is not a ZIP Code (12345 or 12345-6789)`);
    const place = lookupZip(zip.zip5);
    const city = input.origin_city?.trim() || place?.city;
    const state = input.origin_state?.trim().toUpperCase() || place?.state;
    if (!city || !state)
      return fail(
        'invalid_zip',
        `origin ZIP ${zip.zip5} is not in the ZIP table; give origin_city and origin_state`,
      );
    if (!/^[A-Z]{2}$/.test(state))
      return fail('invalid_request', 'origin_state must be a two-letter state code');

    return this.store.transaction(() => {
      const device = this.store.nextCounter('device');
      if (device > LIMITS.device.max) return fail('conflict', 'this vendor has no device numbers left');
      const at = this.clock.now().toISOString();
      const account = {
        id: newId('acct_'),
        name,
        origin_zip: zip.zip5,
        origin_plus4: zip.plus4 ?? null,
        origin_city: city,
        origin_state: state,
        status: 'active' as const,
        meter: meterString(this.vendor, device),
        vendor: this.vendor,
        device,
        created_at: at,
      };
      this.store.insertAccount(account);
      this.keys.createKey(account.meter);
      const { apiKey, apiKeyId } = this.insertKey(account.id, 'initial', at);
      return { account: this.store.account(account.id)!, apiKey, apiKeyId };
    });
  }

  private insertKey(
    accountId: string,
    label: string | null,
    at: string,
  ): { apiKey: string; apiKeyId: string } {
    const apiKey = API_KEY_PREFIX + randomBytes(32).toString('base64url');
    const apiKeyId = newId('ak_');
    this.store.insertApiKey({
      id: apiKeyId,
      account_id: accountId,
      hash: hashApiKey(apiKey),
      label,
      created_at: at,
    });
    return { apiKey, apiKeyId };
  }

  get(id: string): AccountRow {
    return this.store.account(id) ?? fail('not_found', `no account ${id}`);
  }

  /** The account behind a bearer token, or undefined. Suspension is the caller's to judge. */
  authenticate(token: string): (AccountRow & { api_key_id: string }) | undefined {
    if (!API_KEY_RE.test(token)) return undefined;
    return this.store.accountByApiKeyHash(hashApiKey(token));
  }

  fund(id: string, cents: number, ref: string | null): AccountRow {
    if (!Number.isSafeInteger(cents) || cents < 1 || cents > MAX_FUNDING_CENTS) {
      fail('invalid_request', `amount_cents must be an integer from 1 to ${MAX_FUNDING_CENTS}`);
    }
    return this.store.transaction(() => this.store.fund(id, cents, this.clock.now().toISOString(), ref));
  }

  setStatus(id: string, status: AccountRow['status']): AccountRow {
    return this.store.transaction(
      () => this.store.setAccountStatus(id, status) ?? fail('not_found', `no account ${id}`),
    );
  }

  addApiKey(id: string, label: string | null): { apiKey: string; apiKeyId: string } {
    return this.store.transaction(() => {
      this.get(id);
      return this.insertKey(id, label, this.clock.now().toISOString());
    });
  }

  listApiKeys(id: string): ApiKeyRow[] {
    this.get(id);
    return this.store.listApiKeys(id);
  }

  revokeApiKey(id: string, keyId: string): ApiKeyRow {
    return this.store.transaction(
      () =>
        this.store.revokeApiKey(id, keyId, this.clock.now().toISOString()) ??
        fail('not_found', `no API key ${keyId}`),
    );
  }
}
