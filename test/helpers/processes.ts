/**
 * Start sigpost commands as real processes (what an operator runs), for tests that cross process
 * boundaries: crash safety with kill -9, the CLI client, TLS.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const SIGPOST = join(ROOT, 'bin', 'sigpost.mjs');
export const ADMIN_TOKEN = 'process-test-admin-token-0123';

export interface Proc {
  proc: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

export function run(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const proc = spawn(process.execPath, [SIGPOST, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((res) => proc.on('exit', (code) => res(code)));
  return { proc, output: () => out, exited };
}

/** Run a command to completion; resolves with its exit code and output. */
export async function runToEnd(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; out: string }> {
  const p = run(args, env);
  const code = await p.exited;
  return { code, out: p.output() };
}

export interface CentralProc extends Proc {
  url: string;
}

/** `sigpost central serve` on a free port; resolves once /healthz answers. */
export async function startCentral(
  dataDir: string,
  extra: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<CentralProc> {
  const p = run(['central', 'serve', '--data', dataDir, '--port', '0', '--log-level', 'warn', ...extra], {
    SIGPOST_ADMIN_TOKEN: ADMIN_TOKEN,
    SIGPOST_KEY_PASSPHRASE: 'process-test-passphrase',
    ...env,
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const m = /listening on (https?:\/\/[^\s]+) /.exec(p.output());
    if (m) return { ...p, url: m[1]! };
    if (p.proc.exitCode !== null) throw new Error(`central exited early:\n${p.output()}`);
    if (Date.now() > deadline) throw new Error(`central did not start:\n${p.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function adminCall(url: string, method: string, path: string, body?: unknown): Promise<any> {
  const r = await fetch(url + path, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : null,
  });
  const j = await r.json();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(j)}`);
  return j;
}
