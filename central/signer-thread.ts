/**
 * The signer in its own thread. The private keys are opened inside a worker and never exist in the
 * main thread, which serves HTTP and the ledger. Calls are synchronous (the issuance transaction
 * is synchronous), over a SharedArrayBuffer ring: the main thread can submit many pieces, go on
 * reserving the next ones while the worker signs, and then collect the signatures. Signing and
 * the verify-after-sign check thus run on the second core.
 *
 * Ring protocol (Int32 control words, one request and one result slot per sequence number):
 *   main: write request slot (seq % CAPACITY), then REQ = seq + 1, notify REQ;
 *   worker: for each seq below REQ: do it, write result slot, DONE = seq + 1, notify DONE;
 *   main: wait on DONE until it passes the ticket. When REQ == DONE both may be reset to 0.
 */
import { Worker } from 'node:worker_threads';
import type { PipelinedSigner, Ticket } from './signer.ts';

export const CAPACITY = 2048;
export const SLOT = 256;
export const REQ = 0;
export const DONE = 1;

export const OP = { sign: 1, generate: 2, publicKey: 3, close: 4 } as const;
export const STATUS = { ok: 1, error: 2, absent: 3 } as const;

/**
 * Request slot: [op u8][keyIdLen u8][msgLen u8][pad u8][keyId 32 bytes][message up to 200 bytes].
 * Result slot:  [status u8][len u8][data: signature (64) + the signed bytes echoed back, or a
 * public key (32), or an error message].
 */
export interface SignerWorkerData {
  url: string;
  passphrase?: string | undefined;
  verifyAfterSign: boolean;
  ctrl: SharedArrayBuffer;
  requests: SharedArrayBuffer;
  results: SharedArrayBuffer;
}

const TIMEOUT_MS = 10_000;
const enc = new TextEncoder();
const dec = new TextDecoder();

export class ThreadSigner implements PipelinedSigner {
  readonly scheme: 'memory' | 'file';
  private readonly ctrl: Int32Array;
  private readonly requests: Uint8Array;
  private readonly results: Uint8Array;
  private seq = 0;
  private dead: string | undefined;

  private constructor(
    private readonly worker: Worker,
    shared: { ctrl: SharedArrayBuffer; requests: SharedArrayBuffer; results: SharedArrayBuffer },
    scheme: 'memory' | 'file',
  ) {
    this.scheme = scheme;
    this.ctrl = new Int32Array(shared.ctrl);
    this.requests = new Uint8Array(shared.requests);
    this.results = new Uint8Array(shared.results);
    worker.on('error', (e) => {
      this.dead = `signer thread failed: ${e.message}`;
    });
    worker.on('exit', (code) => {
      this.dead ??= `signer thread exited (${code})`;
    });
  }

  /** Start the worker; resolves once it has opened the keystore (or failed to). */
  static async start(
    url: string,
    opts: { passphrase?: string | undefined; verifyAfterSign: boolean },
  ): Promise<ThreadSigner> {
    const shared = {
      ctrl: new SharedArrayBuffer(16),
      requests: new SharedArrayBuffer(CAPACITY * SLOT),
      results: new SharedArrayBuffer(CAPACITY * SLOT),
    };
    const workerData: SignerWorkerData = {
      url,
      passphrase: opts.passphrase,
      verifyAfterSign: opts.verifyAfterSign,
      ...shared,
    };
    const worker = new Worker(new URL('./signer-worker.mjs', import.meta.url), {
      workerData,
      name: 'sigpost-signer',
    });
    const scheme = await new Promise<'memory' | 'file'>((resolve, reject) => {
      worker.once('message', (m: { ready?: 'memory' | 'file'; error?: string }) =>
        m.ready ? resolve(m.ready) : reject(new Error(m.error)),
      );
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`signer thread exited (${code}) before it was ready`)));
    });
    return new ThreadSigner(worker, shared, scheme);
  }

  get health(): string | undefined {
    return this.dead;
  }

  private put(op: number, keyId: string, message?: Uint8Array): Ticket {
    if (this.dead) throw new Error(this.dead);
    const seq = this.seq;
    // Never overwrite a slot the worker has not answered yet.
    while (seq - Atomics.load(this.ctrl, DONE) >= CAPACITY) this.waitDone(Atomics.load(this.ctrl, DONE));
    const base = (seq % CAPACITY) * SLOT;
    const id = enc.encode(keyId);
    if (id.length > 32 || (message && message.length > 200))
      throw new RangeError('key id or message too long for the signer ring');
    const r = this.requests;
    r[base] = op;
    r[base + 1] = id.length;
    r[base + 2] = message?.length ?? 0;
    r.set(id, base + 4);
    if (message) r.set(message, base + 36);
    this.seq = seq + 1;
    Atomics.store(this.ctrl, REQ, this.seq);
    Atomics.notify(this.ctrl, REQ);
    return seq;
  }

  private waitDone(seen: number): void {
    const res = Atomics.wait(this.ctrl, DONE, seen, TIMEOUT_MS);
    if (res === 'timed-out' && Atomics.load(this.ctrl, DONE) === seen) {
      this.dead ??= 'signer thread did not answer within 10 s';
      throw new Error(this.dead);
    }
    if (this.dead) throw new Error(this.dead);
  }

  /** Block until `ticket` is answered; returns its result bytes, or throws its error. */
  private take(ticket: Ticket): Uint8Array | undefined {
    for (;;) {
      const done = Atomics.load(this.ctrl, DONE);
      if (done > ticket) break;
      this.waitDone(done);
    }
    const base = (ticket % CAPACITY) * SLOT;
    const status = this.results[base];
    const len = this.results[base + 1]!;
    const data = this.results.slice(base + 2, base + 2 + len);
    if (ticket + 1 === this.seq) this.maybeReset();
    if (status === STATUS.ok) return data;
    if (status === STATUS.absent) return undefined;
    throw new Error(dec.decode(data));
  }

  /** Keep the counters small: when everything is answered, start again from 0. */
  private maybeReset(): void {
    if (this.seq > 1 << 30 && Atomics.load(this.ctrl, DONE) === this.seq) {
      this.seq = 0;
      Atomics.store(this.ctrl, DONE, 0);
      Atomics.store(this.ctrl, REQ, 0);
      Atomics.notify(this.ctrl, REQ);
    }
  }

  submit(keyId: string, message: Uint8Array): Ticket {
    return this.put(OP.sign, keyId, message);
  }

  collect(ticket: Ticket): { signature: Uint8Array; signed: Uint8Array } {
    const data = this.take(ticket)!;
    return { signature: data.subarray(0, 64), signed: data.subarray(64) };
  }

  sign(keyId: string, message: Uint8Array): Uint8Array {
    return this.collect(this.submit(keyId, message)).signature;
  }

  generate(keyId: string): Uint8Array {
    return this.take(this.put(OP.generate, keyId))!;
  }

  publicKey(keyId: string): Uint8Array | undefined {
    return this.take(this.put(OP.publicKey, keyId));
  }

  close(): void {
    if (!this.dead) {
      try {
        this.take(this.put(OP.close, ''));
      } catch {}
    }
    this.dead = 'signer closed';
    void this.worker.terminate();
  }
}
