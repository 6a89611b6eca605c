/**
 * The signer thread: opens the keystore, then serves the ring described in signer-thread.ts.
 * With verify-after-sign on, every signature is verified with the key's public half before it is
 * returned (a guard against faults while signing), on this thread, not the main one.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { publicKeyFromRaw, verifySignature } from '../indicium/index.ts';
import { createSigner, type Signer } from './signer.ts';
import { CAPACITY, DONE, OP, REQ, type SignerWorkerData, SLOT, STATUS } from './signer-thread.ts';

const data = workerData as SignerWorkerData;
let signer: Signer;
try {
  signer = createSigner(data.url, { passphrase: data.passphrase });
  parentPort!.postMessage({ ready: signer.scheme });
} catch (e) {
  parentPort!.postMessage({ error: (e as Error).message });
  process.exit(1);
}

const ctrl = new Int32Array(data.ctrl);
const requests = new Uint8Array(data.requests);
const results = new Uint8Array(data.results);
const dec = new TextDecoder();
const enc = new TextEncoder();
const publicKeys = new Map<string, ReturnType<typeof publicKeyFromRaw>>();

function answer(seq: number, status: number, bytes: Uint8Array): void {
  const base = (seq % CAPACITY) * SLOT;
  const len = Math.min(bytes.length, SLOT - 2);
  results[base] = status;
  results[base + 1] = len;
  results.set(bytes.subarray(0, len), base + 2);
}

function serve(seq: number): boolean {
  const base = (seq % CAPACITY) * SLOT;
  const op = requests[base];
  const keyId = dec.decode(requests.subarray(base + 4, base + 4 + requests[base + 1]!));
  const message = requests.slice(base + 36, base + 36 + requests[base + 2]!);
  try {
    if (op === OP.sign) {
      const sig = signer.sign(keyId, message);
      if (data.verifyAfterSign) {
        let key = publicKeys.get(keyId);
        if (!key) {
          key = publicKeyFromRaw(signer.publicKey(keyId)!);
          publicKeys.set(keyId, key);
        }
        if (!verifySignature(message, sig, key)) throw new Error(`verify-after-sign failed for key ${keyId}`);
      }
      const out = new Uint8Array(64 + message.length);
      out.set(sig, 0);
      out.set(message, 64); // the bytes actually signed, for the caller to compare
      answer(seq, STATUS.ok, out);
    } else if (op === OP.generate) {
      answer(seq, STATUS.ok, signer.generate(keyId));
    } else if (op === OP.publicKey) {
      const pub = signer.publicKey(keyId);
      answer(seq, pub ? STATUS.ok : STATUS.absent, pub ?? new Uint8Array(0));
    } else if (op === OP.close) {
      signer.close();
      answer(seq, STATUS.ok, new Uint8Array(0));
      return false;
    } else {
      answer(seq, STATUS.error, enc.encode(`unknown signer op ${op}`));
    }
  } catch (e) {
    answer(seq, STATUS.error, enc.encode((e as Error).message));
  }
  return true;
}

let processed = 0;
for (;;) {
  const req = Atomics.load(ctrl, REQ);
  if (req < processed) processed = 0; // the main thread reset the counters
  if (req === processed) {
    Atomics.wait(ctrl, REQ, processed);
    continue;
  }
  const more = serve(processed);
  processed++;
  Atomics.store(ctrl, DONE, processed);
  Atomics.notify(ctrl, DONE);
  if (!more) break;
}
process.exit(0);
