/**
 * Key lifecycle: each meter has its own Ed25519 key (as each postal security device has its own
 * certificate), generated with the meter. Rotation retires the active key (kept and published for
 * verification) and makes a new one; revocation records a time and a reason. The signer holds the
 * private halves; this module only records the public facts and publishes them as events.
 */
import { keyIdString, publicKeyToPem } from '../indicium/index.ts';
import type { Clock } from './clock.ts';
import { fail } from './errors.ts';
import type { Signer } from './signer.ts';
import type { SigningKeyRow, Store } from './store.ts';

export type KeyStore = Pick<
  Store,
  | 'transaction'
  | 'nextCounter'
  | 'insertSigningKey'
  | 'activeKey'
  | 'signingKey'
  | 'listSigningKeys'
  | 'retireKey'
  | 'revokeKey'
  | 'appendEvent'
>;

export interface PublishedKey {
  key_id: string;
  meter: string;
  algorithm: 'ed25519';
  public_key_pem: string;
  /** The raw 32-byte public key, base64. */
  public_key: string;
  status: SigningKeyRow['status'];
  valid_from: string;
  valid_until: string | null;
  revoked_at: string | null;
  revocation_reason: string | null;
}

export function publishKey(k: SigningKeyRow): PublishedKey {
  return {
    key_id: k.key_id,
    meter: k.meter,
    algorithm: 'ed25519',
    public_key_pem: publicKeyToPem(k.public_key),
    public_key: k.public_key.toString('base64'),
    status: k.status,
    valid_from: k.valid_from,
    valid_until: k.valid_until,
    revoked_at: k.revoked_at,
    revocation_reason: k.revocation_reason,
  };
}

export class KeyManager {
  constructor(
    private readonly store: KeyStore,
    private readonly signer: Pick<Signer, 'generate'>,
    private readonly clock: Clock,
    private readonly vendor: number,
  ) {}

  /** A new active key for `meter`. Call inside the transaction that creates or rotates the meter. */
  createKey(meter: string): SigningKeyRow {
    const at = this.clock.now().toISOString();
    const keyNumber = this.store.nextCounter('key_number');
    const keyId = keyIdString(this.vendor, keyNumber);
    // The sealed private key reaches the disk before the public row commits; a crash in between
    // leaves an unused key file, never a published key without its private half.
    const pub = this.signer.generate(keyId);
    const row = {
      key_id: keyId,
      meter,
      key_number: keyNumber,
      public_key: Buffer.from(pub),
      status: 'active' as const,
      valid_from: at,
      created_at: at,
    };
    this.store.insertSigningKey(row);
    const full = this.store.signingKey(keyId)!;
    this.store.appendEvent('key.published', meter, at, publishKey(full));
    return full;
  }

  rotate(meter: string): { retired: SigningKeyRow | undefined; active: SigningKeyRow } {
    return this.store.transaction(() => {
      const old = this.store.activeKey(meter);
      if (!old) return fail('not_found', `meter ${meter} has no active key`);
      const at = this.clock.now().toISOString();
      this.store.retireKey(old.key_id, at);
      const retired = this.store.signingKey(old.key_id)!;
      this.store.appendEvent('key.retired', meter, at, publishKey(retired));
      return { retired, active: this.createKey(meter) };
    });
  }

  /** Revoke a key; if it was the meter's active key, the meter gets a new one at once. */
  revoke(keyId: string, reason: string): { revoked: SigningKeyRow; replacement?: SigningKeyRow | undefined } {
    return this.store.transaction(() => {
      const before = this.store.signingKey(keyId);
      if (!before) return fail('not_found', `no key ${keyId}`);
      if (before.status === 'revoked') return fail('conflict', `key ${keyId} is already revoked`);
      const at = this.clock.now().toISOString();
      const revoked = this.store.revokeKey(keyId, at, reason)!;
      this.store.appendEvent('key.revoked', revoked.meter, at, publishKey(revoked));
      const replacement = before.status === 'active' ? this.createKey(before.meter) : undefined;
      return { revoked, replacement };
    });
  }

  list(meter?: string): PublishedKey[] {
    return this.store.listSigningKeys(meter).map(publishKey);
  }
}
