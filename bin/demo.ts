/**
 * `npm start` (`sigpost demo`): the whole system on the embedded default, in one process.
 *   - the central signer (SQLite ledger, sealed keys), with a funded demo account;
 *   - its events relayed to the in-process bus (indicia.events);
 *   - the verification pipeline on that bus, with chDB as its history;
 *   - scanner-sim feeding it a modest mix of genuine, copied, forged, refunded and damaged pieces;
 *   - the live page at `/` (counts, the latest flagged pieces with their images), `/v1/stats`.
 * SIGPOST_PORT (default 8080) is the page's port; the central signer's API is on the next one.
 * SIGPOST_DATA (default ./data) holds everything; a second start continues from it. Ctrl-C stops
 * the feed, lets the pipeline finish what it holds, and closes the ledger and the history.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { resolveConfig } from '../central/config.ts';
import { startServer } from '../central/server.ts';
import { MemoryBus } from '../pipeline/bus/memory.ts';
import { History } from '../pipeline/history.ts';
import { buildPipelineHttp } from '../pipeline/http.ts';
import { topics } from '../pipeline/messages.ts';
import { PipelineMetrics } from '../pipeline/metrics.ts';
import { KeyRegistry } from '../pipeline/registry.ts';
import { Pipeline } from '../pipeline/run.ts';
import { runFeed, scanHeaders } from '../scanner-sim/feed.ts';
import { DEFAULT_MIX, ScanGenerator } from '../scanner-sim/scenarios.ts';
import { centralSource } from '../scanner-sim/source.ts';

const DASHBOARD = new URL('../dashboards/live/', import.meta.url);

export function demoCommand(program: Command): void {
  program
    .command('demo')
    .description('Run the whole system on the embedded default (what `npm start` runs)')
    .option(
      '--port <n>',
      'port of the live page (env SIGPOST_PORT); the central API uses the next port',
      process.env.SIGPOST_PORT ?? '8080',
    )
    .option('--data <dir>', 'data folder (env SIGPOST_DATA)', process.env.SIGPOST_DATA ?? './data')
    .option('--rate <n>', 'scans per second from the simulated plants', process.env.SIGPOST_DEMO_RATE ?? '3')
    .action(async (o) => {
      const port = Number(o.port);
      const data = resolve(o.data);
      const started = Date.now();
      const bus = new MemoryBus(4);
      const t = topics();

      // The central signer, its relay into the bus (the bus is empty at each start: replay it all).
      const { config, notices } = resolveConfig({
        dataDir: join(data, 'central'),
        port: port + 1,
        logLevel: 'warn',
      });
      const central = await startServer(
        config,
        notices,
        {},
        {
          publish: (events) =>
            bus.send(
              t.events,
              events.map((e) => ({ key: e.meter ?? '', value: JSON.stringify(e) })),
            ),
        },
      );
      central.central.store.setMeta('relay:bus', '0');
      const demoFile = join(config.dataDir, 'demo-account.json');
      let demo: { id: string; api_key: string; meter: string };
      if (existsSync(demoFile)) demo = JSON.parse(readFileSync(demoFile, 'utf8'));
      else {
        const { account, apiKey } = central.central.accounts.create({
          name: 'Demo Mailer',
          origin_zip: '78703',
        });
        demo = { id: account.id, api_key: apiKey, meter: account.meter };
        writeFileSync(demoFile, `${JSON.stringify(demo, null, 2)}\n`, { mode: 0o600 });
      }
      // Keep the demo mailer in stamps: top up below $50.
      const topUp = () => {
        if (central.central.accounts.get(demo.id).descending_cents < 5_000)
          central.central.accounts.fund(demo.id, 100_000, 'demo top-up');
      };
      topUp();

      // The pipeline on the in-process bus, with the scans' images kept for the page (last 500).
      const images = new Map<string, Buffer>();
      const history = await History.open(`chdb:${join(data, 'history')}`);
      const registry = new KeyRegistry();
      const prom = new Registry();
      collectDefaultMetrics({ register: prom });
      let decided = 0;
      const pipeline = await Pipeline.start({
        bus,
        registry,
        history,
        metrics: new PipelineMetrics(prom),
        roles: ['read', 'verdict'],
        partitions: 4,
        onVerdicts: (v) => {
          decided += v.length;
        },
      });

      const http = await buildPipelineHttp({
        history,
        registry,
        metrics: prom,
        ready: () => true,
        image: (id) => images.get(id),
      });
      const file = (name: string, type: string) => {
        const body = readFileSync(new URL(name, DASHBOARD));
        http.get(`/${name === 'index.html' ? '' : name}`, async (_req, reply) => reply.type(type).send(body));
      };
      file('index.html', 'text/html; charset=utf-8');
      file('live.js', 'text/javascript; charset=utf-8');
      file('live.css', 'text/css; charset=utf-8');
      http.get('/config.json', async () => ({
        central_url: central.url,
        started_at: new Date(started).toISOString(),
      }));
      await http.listen({ host: '127.0.0.1', port });
      const page = `http://127.0.0.1:${port}/`;

      // The plants: scanner-sim buying real indicia from the central signer.
      const feedStop = new AbortController();
      // A gentler damage mix than the accuracy runs: most plants' pieces are in fair shape.
      const mix = { ...DEFAULT_MIX, damage: { none: 30, light: 35, moderate: 25, heavy: 8, severe: 2 } };
      const generator = new ScanGenerator({
        source: centralSource(central.central, demo.id),
        mix,
        seed: Date.now() % 1_000_000,
        runId: `demo-${started.toString(36)}`,
      });
      const feed = runFeed({
        generator,
        rate: Number(o.rate),
        signal: feedStop.signal,
        send: async (scans) => {
          topUp();
          for (const s of scans) {
            images.set(s.scan_id, s.image);
            if (images.size > 500) images.delete(images.keys().next().value!);
          }
          await bus.send(
            t.scans,
            scans.map((s) => ({ key: s.scan_id, value: s.image, headers: scanHeaders(s) })),
          );
        },
      });

      process.stdout.write(
        [
          `sigpost is running on the embedded default (data: ${data})`,
          `  live page        ${page}`,
          `  central signer   ${central.url}   API docs: ${central.url}/docs`,
          `  demo account     ${demo.id}, meter ${demo.meter}`,
          `  try:             node bin/sigpost.mjs postage buy --api ${central.url} --key ${demo.api_key} --out label.pdf`,
          'Ctrl-C stops it; the next start continues from the same data.',
          '',
        ].join('\n'),
      );
      const tty = process.stdout.isTTY;
      const summary = setInterval(
        async () => {
          try {
            const c = await history.verdictCounts();
            const total = Object.values(c).reduce((a, b) => a + b, 0);
            const parts = [
              'VALID',
              'DUPLICATE',
              'FORGED',
              'UNKNOWN_KEY',
              'VOIDED',
              'STALE_DATE',
              'UNREADABLE',
            ].map((v) => `${v} ${c[v] ?? 0}`);
            process.stdout.write(
              `${tty ? '\r\x1b[K' : ''}[${Math.round((Date.now() - started) / 1000)}s] ${total} scans | ${parts.join(' | ')}${tty ? '' : '\n'}`,
            );
          } catch {}
        },
        tty ? 1000 : 10_000,
      );

      let stopping = false;
      const stop = async (sig: string) => {
        if (stopping) process.exit(130);
        stopping = true;
        clearInterval(summary);
        process.stdout.write(
          `\n${sig}: stopping the feed, finishing the scans in flight, closing the ledger and the history\n`,
        );
        const hard = setTimeout(() => process.exit(1), 9_000);
        feedStop.abort();
        await feed.catch(() => {});
        // Let the pipeline decide what the plants already sent (a few seconds at most).
        const deadline = Date.now() + 4_000;
        const sent = async () =>
          [...(await bus.endOffsets(t.scans)).values()].reduce((a, b) => a + Number(b), 0);
        const total = await sent();
        while (decided < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        await pipeline.stop();
        await http.close();
        await central.stop();
        await history.close();
        clearTimeout(hard);
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    });
}
