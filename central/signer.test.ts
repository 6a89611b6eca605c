import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { publicKeyFromRaw, verifySignature } from '../indicium/index.ts';
import { createSigner } from './signer.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'sigpost-keys-'));
const msg = new Uint8Array([1, 2, 3]);

describe('signer', () => {
  it('memory: signs with a key it generated and nothing else', () => {
    const s = createSigner('memory:');
    const pub = s.generate('41-00000001');
    expect(verifySignature(msg, s.sign('41-00000001', msg), publicKeyFromRaw(pub))).toBe(true);
    expect(() => s.sign('41-00000002', msg)).toThrow(/does not hold/);
    expect(() => s.generate('41-00000001')).toThrow(/already/);
  });

  it('file: seals each private key under the passphrase and reopens it', () => {
    const d = dir();
    const s1 = createSigner(`file:${d}`, { passphrase: 'correct horse battery staple' });
    const pub = s1.generate('41-0000000a');
    s1.close();
    const files = readdirSync(d).sort();
    expect(files).toEqual(['41-0000000a.key.json', 'keystore.json']);
    expect(statSync(join(d, '41-0000000a.key.json')).mode & 0o777).toBe(0o600);
    const file = JSON.parse(readFileSync(join(d, '41-0000000a.key.json'), 'utf8'));
    expect(Object.keys(file.private_key).sort()).toEqual(['ct', 'iv', 'tag']);
    expect(readFileSync(join(d, '41-0000000a.key.json'), 'utf8')).not.toMatch(/PRIVATE KEY/);
    const meta = JSON.parse(readFileSync(join(d, 'keystore.json'), 'utf8'));
    expect(meta.kdf).toMatchObject({ name: 'scrypt', N: 32768, r: 8, p: 1 });
    expect(meta.cipher).toBe('aes-256-gcm');

    const s2 = createSigner(`file:${d}`, { passphrase: 'correct horse battery staple' });
    expect(s2.publicKey('41-0000000a')).toEqual(pub);
    expect(verifySignature(msg, s2.sign('41-0000000a', msg), publicKeyFromRaw(pub))).toBe(true);
  });

  it('file: refuses a wrong passphrase, and a key file moved to another id', () => {
    const d = dir();
    const s = createSigner(`file:${d}`, { passphrase: 'the right passphrase' });
    s.generate('41-00000001');
    expect(() => createSigner(`file:${d}`, { passphrase: 'the wrong passphrase' })).toThrow(/does not open/);
    // The key id is bound into the seal: a file copied under another name does not open.
    const text = readFileSync(join(d, '41-00000001.key.json'), 'utf8');
    writeFileSync(join(d, '41-00000002.key.json'), text);
    const again = createSigner(`file:${d}`, { passphrase: 'the right passphrase' });
    expect(() => again.sign('41-00000002', msg)).toThrow();
  });

  it('refuses unknown schemes and a file signer without a passphrase', () => {
    expect(() => createSigner('pkcs11:slot=0')).toThrow(/unknown signer scheme/);
    expect(() => createSigner(`file:${dir()}`)).toThrow(/passphrase/);
  });
});
