/**
 * The mailer's command-line client against a real server process: one label, a CSV batch into a
 * multi-page PDF (re-run without double charging), and HTTPS with --tls-cert/--tls-key.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCall, type CentralProc, runToEnd, startCentral } from './helpers/processes.ts';

const work = mkdtempSync(join(tmpdir(), 'sigpost-client-'));
let server: CentralProc;
let key: string;

beforeAll(async () => {
  server = await startCentral(join(work, 'data'));
  const a = await adminCall(server.url, 'POST', '/v1/admin/accounts', {
    name: 'Client Test',
    origin_zip: '94103',
  });
  await adminCall(server.url, 'POST', `/v1/admin/accounts/${a.id}/funds`, { amount_cents: 1000 });
  key = a.api_key;
});
afterAll(async () => {
  server.proc.kill('SIGTERM');
  await server.exited;
});

describe('sigpost postage', () => {
  it('buys one piece into a PDF label and shows the balance', async () => {
    const out = join(work, 'one.pdf');
    const r = await runToEnd([
      'postage',
      'buy',
      '--api',
      server.url,
      '--key',
      key,
      '--class',
      'letter',
      '--weight',
      '1',
      '--to',
      '10001',
      '--out',
      out,
    ]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/bought meter \d{10} serial 1: \$0\.74 letter/);
    expect(r.out).toMatch(/balance: \$9\.26/);
    expect(execFileSync('pdftotext', [out, '-']).toString()).toMatch(/FROM SAN FRANCISCO CA 94103/);
  });

  it('writes PNG and SVG labels too', async () => {
    for (const ext of ['png', 'svg']) {
      const out = join(work, `one.${ext}`);
      const r = await runToEnd([
        'postage',
        'buy',
        '--api',
        server.url,
        '--key',
        key,
        '--class',
        'postcard',
        '--weight',
        '0.2',
        '--out',
        out,
        '--layout',
        'label4x6',
      ]);
      expect(r.code, r.out).toBe(0);
      expect(existsSync(out)).toBe(true);
    }
    expect(execFileSync('ZXingReader', ['-format', 'PDF417', join(work, 'one.png')]).toString()).toMatch(
      /Format:\s+PDF417/,
    );
  });

  it('buys a CSV batch into a multi-page PDF, reports bad lines, and does not charge twice on a re-run', async () => {
    const csv = join(work, 'batch.csv');
    writeFileSync(csv, 'class,weight,to\nletter,1,10001\nletter,2,60601\ntelegram,1,10001\nflat,3,30301\n');
    const out = join(work, 'batch.pdf');
    const first = await runToEnd([
      'postage',
      'buy',
      '--api',
      server.url,
      '--key',
      key,
      '--csv',
      csv,
      '--out',
      out,
    ]);
    expect(first.code).toBe(1);
    expect(first.out).toMatch(/bought 3 pieces for \$3\.94/);
    expect(first.out).toMatch(/line 4: 422 unknown_mail_class/);
    expect(execFileSync('pdfinfo', [out]).toString()).toMatch(/Pages:\s+3/);
    const balance = /balance: (\$[\d.]+)/.exec(first.out)![1];

    const again = await runToEnd([
      'postage',
      'buy',
      '--api',
      server.url,
      '--key',
      key,
      '--csv',
      csv,
      '--out',
      out,
    ]);
    expect(again.out).toMatch(/bought 3 pieces/);
    expect(/balance: (\$[\d.]+)/.exec(again.out)![1]).toBe(balance);
  });

  it('explains a missing API key', async () => {
    const r = await runToEnd(
      ['postage', 'buy', '--api', server.url, '--key', '', '--out', join(work, 'x.pdf')],
      { SIGPOST_API_KEY: '' },
    );
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/--key/);
  });

  it('every subcommand has --help', async () => {
    for (const cmd of [
      [],
      ['central'],
      ['central', 'serve'],
      ['central', 'audit'],
      ['postage'],
      ['postage', 'buy'],
      ['postage', 'balance'],
      ['postage', 'refund'],
    ]) {
      const r = await runToEnd([...cmd, '--help']);
      expect(r.code, cmd.join(' ')).toBe(0);
      expect(r.out).toMatch(/^Usage: sigpost/m);
    }
  });
});

describe('HTTPS', () => {
  it('serves the API over TLS with --tls-cert and --tls-key', async () => {
    const cert = join(work, 'cert.pem');
    const tlsKey = join(work, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        tlsKey,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    const tls = await startCentral(join(work, 'tls-data'), ['--tls-cert', cert, '--tls-key', tlsKey]);
    try {
      expect(tls.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const a = await runToEnd(
        ['postage', 'balance', '--api', tls.url, '--key', 'sp_live_' + 'x'.repeat(43)],
        { NODE_EXTRA_CA_CERTS: cert },
      );
      expect(a.out).toMatch(/401 unauthenticated/); // reached the server over TLS, which answered
      const plain = await fetch(tls.url.replace('https', 'http') + '/healthz').catch((e: Error) => e);
      expect(plain).toBeInstanceOf(Error);
    } finally {
      tls.proc.kill('SIGTERM');
      await tls.exited;
    }
  });
});
