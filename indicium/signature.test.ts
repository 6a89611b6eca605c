import { createHash, createPrivateKey, sign } from 'node:crypto';
import * as noble from '@noble/ed25519';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedIndicium } from './errors.ts';
import { decodeIndicium, verifyIndicium } from './payload.ts';
import {
  checkPublicKey,
  ED25519_L,
  isCanonicalS,
  publicKeyFromRaw,
  publicKeyToPem,
  rawFromPem,
  signatureS,
  verifySignature,
} from './signature.ts';
import { newTestKey, recordArb, sampleRecord, signedPayload } from './testing.ts';

noble.hashes.sha512 = (m: Uint8Array) => new Uint8Array(createHash('sha512').update(m).digest());

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const PKCS8_PREFIX = '302e020100300506032b657004220420';

/** RFC 8032 section 7.1, Ed25519 tests 1, 2, 3, 1024 (first 64 bytes shown in the RFC) and SHA(abc). */
const RFC8032 = [
  {
    name: 'TEST 1 (empty message)',
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pub: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2 (one byte)',
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pub: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    msg: '72',
    sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3 (two bytes)',
    secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    pub: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    msg: 'af82',
    sig: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
  {
    name: 'TEST SHA(abc)',
    secret: '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
    pub: 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    msg: 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    sig: 'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704',
  },
];

/** Add L to S: the same signature in a second, non-canonical byte form. */
function withSPlusL(sig: Uint8Array): Uint8Array {
  const out = sig.slice();
  let s = signatureS(sig) + ED25519_L;
  for (let i = 32; i < 64; i++) {
    out[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return out;
}

describe('Ed25519 signatures', () => {
  it.each(RFC8032)('matches RFC 8032 $name with node:crypto and noble', ({ secret, pub, msg, sig }) => {
    const priv = createPrivateKey({
      key: Buffer.from(PKCS8_PREFIX + secret, 'hex'),
      format: 'der',
      type: 'pkcs8',
    });
    expect(Buffer.from(sign(null, hex(msg), priv)).toString('hex')).toBe(sig);
    expect(Buffer.from(noble.sign(hex(msg), hex(secret))).toString('hex')).toBe(sig);
    const key = publicKeyFromRaw(hex(pub));
    expect(verifySignature(hex(msg), hex(sig), key)).toBe(true);
    expect(noble.verify(hex(sig), hex(msg), hex(pub), { zip215: false })).toBe(true);
    expect(checkPublicKey(hex(pub))).toBeUndefined();
  });

  it('rejects S + L, which noble (strict) rejects too, and which is the same signature mod L', () => {
    const k = newTestKey();
    const payload = signedPayload(sampleRecord(), k);
    const d = decodeIndicium(payload);
    const forged = withSPlusL(d.signature);
    expect(signatureS(forged) % ED25519_L).toBe(signatureS(d.signature));
    expect(isCanonicalS(d.signature)).toBe(true);
    expect(isCanonicalS(forged)).toBe(false);
    expect(verifySignature(d.signed, forged, k.publicKey)).toBe(false);
    expect(noble.verify(forged, d.signed, k.raw, { zip215: false })).toBe(false);
    expect(verifyIndicium(d, k.publicKey)).toBe(true);
  });

  it('agrees with noble (strict RFC 8032) on genuine and mutated signatures', () => {
    const k = newTestKey();
    fc.assert(
      fc.property(recordArb, fc.nat({ max: 103 * 8 - 1 }), fc.boolean(), (r, bit, flip) => {
        const payload = signedPayload(r, k);
        if (flip) payload[bit >> 3]! ^= 1 << (bit & 7);
        const msg = payload.subarray(0, 39);
        const sig = payload.subarray(39);
        const ours = verifySignature(msg, sig, k.publicKey);
        const theirs = noble.verify(sig, msg, k.raw, { zip215: false });
        expect(ours).toBe(theirs);
        expect(ours).toBe(!flip);
      }),
      { numRuns: 300 },
    );
  });

  it('catches every single-bit flip of a signed payload', () => {
    const k = newTestKey();
    fc.assert(
      fc.property(recordArb, (r) => {
        const payload = signedPayload(r, k);
        for (let bit = 0; bit < payload.length * 8; bit++) {
          const p = payload.slice();
          p[bit >> 3]! ^= 1 << (bit & 7);
          let accepted = false;
          try {
            accepted = verifyIndicium(decodeIndicium(p), k.publicKey);
          } catch (e) {
            expect(e).toBeInstanceOf(MalformedIndicium);
          }
          expect(accepted, `bit ${bit} flipped and still accepted`).toBe(false);
        }
      }),
      { numRuns: 20 },
    );
  });

  it('refuses public keys of small order or non-canonical encoding', () => {
    const identity = hex('0100000000000000000000000000000000000000000000000000000000000000');
    expect(checkPublicKey(identity)).toMatch(/small order/);
    // y = p (2^255 - 19) encodes 0 non-canonically.
    const nonCanonical = hex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
    expect(checkPublicKey(nonCanonical)).toBeDefined();
    expect(checkPublicKey(new Uint8Array(31))).toMatch(/32/);
    // With the identity as key, R = identity and S = 0 "verify" any message: hence the registry check.
    const sig = new Uint8Array(64);
    sig.set(identity, 0);
    expect(noble.verify(sig, hex('00'), identity, { zip215: true })).toBe(true);
  });

  it('converts keys between raw and PEM', () => {
    const k = newTestKey();
    const pem = publicKeyToPem(k.raw);
    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(rawFromPem(pem)).toEqual(k.raw);
    expect(() => rawFromPem('not a key')).toThrow();
  });
});
