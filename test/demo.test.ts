/**
 * The one-command demo as a new user meets it: `npm start` (sigpost demo) on a fresh data folder;
 * the live page in Debian's chromium (driven by playwright-core) loads and its counts move; a
 * screenshot is kept; Ctrl-C (SIGINT) stops it within 10 s; a second start continues from the data.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { type Proc, ROOT, run } from './helpers/processes.ts';

const artifacts = join(ROOT, 'test', '.artifacts');
mkdirSync(artifacts, { recursive: true });

async function startDemo(data: string, port: number): Promise<Proc> {
  const p = run(['demo'], { SIGPOST_PORT: String(port), SIGPOST_DATA: data, SIGPOST_DEMO_RATE: '6' });
  const deadline = Date.now() + 60_000;
  while (!/live page\s+http/.test(p.output())) {
    if (p.proc.exitCode !== null) throw new Error(`demo exited:\n${p.output()}`);
    if (Date.now() > deadline) throw new Error(`demo did not start:\n${p.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return p;
}

async function total(port: number): Promise<number> {
  const s = (await (await fetch(`http://127.0.0.1:${port}/v1/stats`)).json()) as {
    verdicts: Record<string, number>;
  };
  return Object.values(s.verdicts).reduce((a, b) => a + b, 0);
}

async function stopWithSigint(p: Proc): Promise<number> {
  const t0 = Date.now();
  p.proc.kill('SIGINT');
  const code = await p.exited;
  expect(code, p.output()).toBe(0);
  return Date.now() - t0;
}

describe('npm start', () => {
  it('runs the whole system; the page loads and its counts move; Ctrl-C stops it; a restart continues', async () => {
    const data = mkdtempSync(join(tmpdir(), 'sigpost-demo-'));
    const port = 18_100 + Math.floor(Math.random() * 800);
    const demo = await startDemo(data, port);
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    let before = 0;
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForSelector('.card[data-verdict="VALID"]');
      await expect
        .poll(async () => Number(await page.getAttribute('#total', 'data-total')), { timeout: 30_000 })
        .toBeGreaterThan(0);
      const first = Number(await page.getAttribute('#total', 'data-total'));
      await expect
        .poll(async () => Number(await page.getAttribute('#total', 'data-total')), { timeout: 30_000 })
        .toBeGreaterThan(first);
      // Flagged pieces show with their images once the feed has made some.
      await page.waitForSelector('.piece img', { timeout: 60_000 });
      await page.waitForTimeout(1500);
      await page.screenshot({ path: join(artifacts, 'demo.png'), fullPage: true });
      expect(await page.textContent('h1')).toMatch(/sigpost/);
      expect(await page.getAttribute('#docs', 'href')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/docs$/);
      before = await total(port);
    } finally {
      await browser.close();
    }
    expect(await stopWithSigint(demo)).toBeLessThan(10_000);

    // A second start continues from the first one's data.
    const again = await startDemo(data, port);
    try {
      expect(await total(port)).toBeGreaterThanOrEqual(before);
      await expect.poll(() => total(port), { timeout: 30_000 }).toBeGreaterThan(before);
    } finally {
      expect(await stopWithSigint(again)).toBeLessThan(10_000);
    }
  }, 240_000);
});
