/**
 * The signer: the only holder of private keys. It generates a key, signs bytes with it, and tells
 * the public half; nothing else. Private keys never leave this module.
 *
 * One factory keyed by scheme (STYLE point 4):
 *   memory:        keys in process memory only (tests);
 *   file:<dir>     each key sealed on disk with AES-256-GCM under a key-encryption key derived by
 *                  scrypt from a passphrase; the key id is bound as associated data;
 *   pkcs11:...     reserved for an HSM behind the same interface (not built).
 */
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign as nodeSign,
  randomBytes,
  scryptSync,
} from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { publicKeyFromRaw, rawFromPublicKey, verifySignature } from '../indicium/index.ts';

/** A handle on a signature requested but perhaps not yet made. */
export type Ticket = number;

export interface Signer {
  readonly scheme: 'memory' | 'file';
  /** Make a new key pair under `keyId`; returns the raw 32-byte public key. */
  generate(keyId: string): Uint8Array;
  /** Sign with the key `keyId`. Throws if the signer does not hold it. */
  sign(keyId: string, message: Uint8Array): Uint8Array;
  /** The raw public key of `keyId`, if held. */
  publicKey(keyId: string): Uint8Array | undefined;
  close(): void;
}

/**
 * A signer that can take many requests before answering (the thread signer signs while the
 * caller goes on). `collect` returns the signature and the bytes that were actually signed.
 */
export interface PipelinedSigner extends Signer {
  submit(keyId: string, message: Uint8Array): Ticket;
  collect(ticket: Ticket): { signature: Uint8Array; signed: Uint8Array };
  /** Why the signer cannot sign, if it cannot (a dead thread); undefined when healthy. */
  readonly health?: string | undefined;
}

interface Held {
  priv: KeyObject;
  pub: Uint8Array;
}

class MemorySigner implements Signer {
  readonly scheme: 'memory' | 'file' = 'memory';
  protected readonly keys = new Map<string, Held>();

  generate(keyId: string): Uint8Array {
    if (this.has(keyId)) throw new Error(`signer already holds key ${keyId}`);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const held = { priv: privateKey, pub: rawFromPublicKey(publicKey) };
    this.persist(keyId, held);
    this.keys.set(keyId, held);
    return held.pub;
  }

  sign(keyId: string, message: Uint8Array): Uint8Array {
    const held = this.load(keyId);
    if (!held) throw new Error(`signer does not hold key ${keyId}`);
    return new Uint8Array(nodeSign(null, message, held.priv));
  }

  publicKey(keyId: string): Uint8Array | undefined {
    return this.load(keyId)?.pub;
  }

  close(): void {
    this.keys.clear();
  }

  protected has(keyId: string): boolean {
    return this.keys.has(keyId);
  }
  protected persist(_keyId: string, _held: Held): void {}
  protected load(keyId: string): Held | undefined {
    return this.keys.get(keyId);
  }
}

const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const CHECK_TEXT = Buffer.from('sigpost keystore v1');

interface Sealed {
  iv: string;
  tag: string;
  ct: string;
}

function seal(kek: Buffer, plain: Buffer, aad: string): Sealed {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', kek, iv);
  c.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([c.update(plain), c.final()]);
  return { iv: iv.toString('base64'), tag: c.getAuthTag().toString('base64'), ct: ct.toString('base64') };
}

function unseal(kek: Buffer, s: Sealed, aad: string): Buffer {
  const d = createDecipheriv('aes-256-gcm', kek, Buffer.from(s.iv, 'base64'));
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(Buffer.from(s.tag, 'base64'));
  return Buffer.concat([d.update(Buffer.from(s.ct, 'base64')), d.final()]);
}

/** Write a file so that after a crash it is either absent or whole. */
function writeDurably(path: string, data: string, mode = 0o600): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, data, { mode });
  const fd = openSync(tmp, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dfd = openSync(join(path, '..'), 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

const KEY_ID_FILE_RE = /^[0-9a-z-]+$/;

class FileSigner extends MemorySigner {
  override readonly scheme = 'file' as const;
  private readonly kek: Buffer;

  constructor(
    private readonly dir: string,
    passphrase: string,
  ) {
    super();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const metaPath = join(dir, 'keystore.json');
    if (existsSync(metaPath)) {
      const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as { salt: string; check: Sealed };
      this.kek = scryptSync(passphrase, Buffer.from(meta.salt, 'base64'), 32, SCRYPT);
      try {
        unseal(this.kek, meta.check, 'keystore');
      } catch {
        throw new Error(`the key passphrase does not open the keystore in ${dir}`);
      }
    } else {
      const salt = randomBytes(16);
      this.kek = scryptSync(passphrase, salt, 32, SCRYPT);
      const meta = {
        version: 1,
        kdf: { name: 'scrypt', N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p },
        cipher: 'aes-256-gcm',
        salt: salt.toString('base64'),
        check: seal(this.kek, CHECK_TEXT, 'keystore'),
      };
      writeDurably(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
    }
  }

  private path(keyId: string): string {
    if (!KEY_ID_FILE_RE.test(keyId)) throw new Error(`bad key id ${keyId}`);
    return join(this.dir, `${keyId}.key.json`);
  }

  protected override has(keyId: string): boolean {
    return super.has(keyId) || existsSync(this.path(keyId));
  }

  protected override persist(keyId: string, held: Held): void {
    const pkcs8 = held.priv.export({ format: 'der', type: 'pkcs8' });
    const file = {
      key_id: keyId,
      algorithm: 'ed25519',
      public_key: Buffer.from(held.pub).toString('base64'),
      private_key: seal(this.kek, pkcs8, keyId),
    };
    writeDurably(this.path(keyId), `${JSON.stringify(file, null, 2)}\n`);
  }

  protected override load(keyId: string): Held | undefined {
    const cached = super.load(keyId);
    if (cached) return cached;
    const path = this.path(keyId);
    if (!existsSync(path)) return undefined;
    const file = JSON.parse(readFileSync(path, 'utf8')) as { public_key: string; private_key: Sealed };
    const priv = createPrivateKey({
      key: unseal(this.kek, file.private_key, keyId),
      format: 'der',
      type: 'pkcs8',
    });
    const pub = rawFromPublicKey(createPublicKey(priv));
    if (Buffer.compare(Buffer.from(pub), Buffer.from(file.public_key, 'base64')) !== 0) {
      throw new Error(`key file ${path}: the public key does not match the private key`);
    }
    const held = { priv, pub };
    this.keys.set(keyId, held);
    return held;
  }
}

/** In-thread pipelining: sign at submit time, optionally verify, hand back at collect. */
export class InlineSigner implements PipelinedSigner {
  private readonly done = new Map<Ticket, { signature: Uint8Array; signed: Uint8Array } | Error>();
  private next = 0;
  private readonly keys = new Map<string, KeyObject>();
  constructor(
    private readonly inner: Signer,
    private readonly verifyAfterSign: boolean,
  ) {}
  get scheme() {
    return this.inner.scheme;
  }
  generate(keyId: string) {
    return this.inner.generate(keyId);
  }
  publicKey(keyId: string) {
    return this.inner.publicKey(keyId);
  }
  sign(keyId: string, message: Uint8Array) {
    return this.collect(this.submit(keyId, message)).signature;
  }
  submit(keyId: string, message: Uint8Array): Ticket {
    const t = this.next++;
    try {
      const signature = this.inner.sign(keyId, message);
      if (this.verifyAfterSign) {
        let key = this.keys.get(keyId);
        if (!key) {
          key = publicKeyFromRaw(this.inner.publicKey(keyId)!);
          this.keys.set(keyId, key);
        }
        if (!verifySignature(message, signature, key))
          throw new Error(`verify-after-sign failed for key ${keyId}`);
      }
      this.done.set(t, { signature, signed: message.slice() });
    } catch (e) {
      this.done.set(t, e as Error);
    }
    return t;
  }
  collect(ticket: Ticket) {
    const r = this.done.get(ticket);
    this.done.delete(ticket);
    if (!r) throw new Error(`no signature for ticket ${ticket}`);
    if (r instanceof Error) throw r;
    return r;
  }
  close() {
    this.inner.close();
  }
}

export interface SignerOptions {
  passphrase?: string | undefined;
  /** Verify every signature before handing it out. */
  verifyAfterSign?: boolean;
  /** Open the keys in a worker thread (the default for servers): see signer-thread.ts. */
  thread?: boolean;
}

/** The signer the issuer uses: in its own thread by default, or inline. */
export async function startSigner(url: string, opts: SignerOptions = {}): Promise<PipelinedSigner> {
  const verifyAfterSign = opts.verifyAfterSign ?? true;
  if (opts.thread ?? true) {
    const { ThreadSigner } = await import('./signer-thread.ts');
    return ThreadSigner.start(url, { passphrase: opts.passphrase, verifyAfterSign });
  }
  return new InlineSigner(createSigner(url, opts), verifyAfterSign);
}

/** `memory:` or `file:<dir>`; the passphrase is required for `file:`. */
export function createSigner(url: string, opts: { passphrase?: string | undefined } = {}): Signer {
  if (url === 'memory:') return new MemorySigner();
  if (url.startsWith('file:')) {
    const dir = url.slice('file:'.length);
    if (!dir) throw new Error('signer file: needs a directory, e.g. file:./data/keys');
    if (!opts.passphrase) throw new Error('signer file: needs a key passphrase');
    return new FileSigner(dir, opts.passphrase);
  }
  throw new Error(`unknown signer scheme in "${url}" (use memory: or file:<dir>)`);
}
