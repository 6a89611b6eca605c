/**
 * `npm start` (`sigpost demo`): sigpost on the embedded default, in one process.
 * Today: the central signer with a funded demo account, so a label can be bought at once.
 * The verification pipeline, the scanner simulator and the live page join it as they are built.
 * SIGPOST_PORT (default 8080) and SIGPOST_DATA (default ./data) choose the port and the data folder;
 * a second start continues from the data the first one left.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { resolveConfig } from '../central/config.ts';
import { startServer, stopOnSignals } from '../central/server.ts';

export function demoCommand(program: Command): void {
  program
    .command('demo')
    .description('Run sigpost on the embedded default (what `npm start` runs)')
    .option('--port <n>', 'HTTP port (env SIGPOST_PORT)', process.env.SIGPOST_PORT ?? '8080')
    .option('--data <dir>', 'data folder (env SIGPOST_DATA)', process.env.SIGPOST_DATA ?? './data')
    .action(async (o) => {
      const dataDir = resolve(o.data, 'central');
      const { config, notices } = resolveConfig({ dataDir, port: Number(o.port), logLevel: 'warn' });
      const running = await startServer(config, notices);
      const { central, url } = running;
      const demoFile = join(dataDir, 'demo-account.json');
      let demo: { id: string; api_key: string; meter: string };
      if (existsSync(demoFile)) demo = JSON.parse(readFileSync(demoFile, 'utf8'));
      else {
        const { account, apiKey } = central.accounts.create({ name: 'Demo Mailer', origin_zip: '78703' });
        central.accounts.fund(account.id, 10_000, 'demo starting balance');
        demo = { id: account.id, api_key: apiKey, meter: account.meter };
        writeFileSync(demoFile, `${JSON.stringify(demo, null, 2)}\n`, { mode: 0o600 });
      }
      const a = central.accounts.get(demo.id);
      process.stdout.write(
        [
          `sigpost is running on the embedded default (data: ${resolve(o.data)})`,
          `  central signer   ${url}   API docs: ${url}/docs`,
          `  demo account     ${demo.id}, meter ${demo.meter}, balance $${(a.descending_cents / 100).toFixed(2)}`,
          '',
          'Buy a stamp and print its label:',
          `  node bin/sigpost.mjs postage buy --api ${url} --key ${demo.api_key} --class letter --weight 1 --to 10001 --out label.pdf`,
          '',
          'Ctrl-C stops it; the next start continues from the same data.',
          '',
        ].join('\n'),
      );
      stopOnSignals(running.stop, (m) => process.stdout.write(`${m}\n`));
    });
}
