/**
 * The authority's view of the vendors: which public keys exist, for which meter, with what status
 * and validity, and which indicia were refunded (voided). Kept from the `indicia.events` feed, and
 * bootstrapped from a vendor's `GET /v1/keys` or a file with the same JSON. Public keys only.
 */
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { checkPublicKey, parseKeyId, publicKeyFromRaw } from '../indicium/index.ts';
import { pieceKey } from './history.ts';

export interface PublishedKey {
  key_id: string;
  meter: string;
  algorithm?: string;
  public_key: string;
  status: 'active' | 'retired' | 'revoked';
  valid_from: string;
  valid_until: string | null;
  revoked_at: string | null;
  revocation_reason?: string | null;
}

export interface RegisteredKey {
  keyId: string;
  meter: string;
  key: KeyObject;
  status: PublishedKey['status'];
  validFrom: string;
  validUntil: string | null;
  revokedAt: string | null;
  reason: string | null;
}

export interface FeedEvent {
  seq?: number;
  type: string;
  meter?: string | null;
  at?: string;
  // biome-ignore lint/suspicious/noExplicitAny: JSON from the feed; put() checks a key, and a refund is read field by field.
  data: any;
}

export class KeyRegistry {
  private readonly keys = new Map<string, RegisteredKey>();
  private readonly voided = new Map<string, string>();
  /** Keys refused on entry, with the reason (small-order, wrong meter, ...). */
  readonly refused: { key_id: string; reason: string }[] = [];

  get size(): number {
    return this.keys.size;
  }

  get voidedCount(): number {
    return this.voided.size;
  }

  /** Add or update a key. Returns the reason if the key is refused. */
  put(k: PublishedKey): string | undefined {
    const why = this.check(k);
    if (why) {
      this.refused.push({ key_id: k.key_id, reason: why });
      return why;
    }
    const raw = new Uint8Array(Buffer.from(k.public_key, 'base64'));
    const existing = this.keys.get(k.key_id);
    if (
      existing &&
      Buffer.compare(
        Buffer.from(existing.key.export({ format: 'der', type: 'spki' })).subarray(12),
        Buffer.from(raw),
      ) !== 0
    ) {
      const reason = 'a different public key is already registered under this key id';
      this.refused.push({ key_id: k.key_id, reason });
      return reason;
    }
    this.keys.set(k.key_id, {
      keyId: k.key_id,
      meter: k.meter,
      key: existing?.key ?? publicKeyFromRaw(raw),
      status: k.status,
      validFrom: k.valid_from,
      validUntil: k.valid_until,
      revokedAt: k.revoked_at,
      reason: k.revocation_reason ?? null,
    });
    return undefined;
  }

  private check(k: PublishedKey): string | undefined {
    if (k.algorithm && k.algorithm !== 'ed25519') return `algorithm ${k.algorithm} is not ed25519`;
    const id = parseKeyId(k.key_id);
    if (!id) return `key id ${k.key_id} is not VV-kkkkkkkk`;
    if (!/^\d{10}$/.test(k.meter) || Number(k.meter.slice(0, 2)) !== id.vendor)
      return `meter ${k.meter} is not of vendor ${id.vendor}`;
    const raw = Buffer.from(k.public_key ?? '', 'base64');
    return checkPublicKey(new Uint8Array(raw));
  }

  get(keyId: string): RegisteredKey | undefined {
    return this.keys.get(keyId);
  }

  voidedAt(meter: string, serial: number): string | undefined {
    return this.voided.get(pieceKey(meter, serial));
  }

  markVoided(meter: string, serial: number, at: string): void {
    this.voided.set(pieceKey(meter, serial), at);
  }

  /** Apply one `indicia.events` event (central/EVENTS.md). Unknown types are ignored. */
  apply(e: FeedEvent): void {
    switch (e.type) {
      case 'key.published':
      case 'key.retired':
      case 'key.revoked':
        this.put(e.data as PublishedKey);
        break;
      case 'indicium.refunded':
        this.markVoided(e.data.meter, Number(e.data.serial), e.data.refunded_at ?? e.at);
        break;
      default:
    }
  }

  /** Load keys from a vendor's `/v1/keys` (a URL, or the signer's base URL) or a JSON file. */
  async load(source: string): Promise<number> {
    let body: { keys: PublishedKey[]; voided?: { meter: string; serial: number; at?: string }[] };
    if (/^https?:\/\//.test(source)) {
      const url = new URL(source);
      if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/keys';
      const res = await fetch(url);
      if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
      body = (await res.json()) as typeof body;
    } else {
      body = JSON.parse(await readFile(source, 'utf8'));
    }
    let n = 0;
    for (const k of body.keys ?? []) if (!this.put(k)) n++;
    for (const v of body.voided ?? []) this.markVoided(v.meter, v.serial, v.at ?? '');
    return n;
  }
}
