/** The `sigpost` command line. Each part contributes its own commands. */
import { Command } from 'commander';
import { centralCommands } from '../central/cli.ts';
import { pipelineCommands } from '../pipeline/cli.ts';
import { simCommands } from '../scanner-sim/cli.ts';
import { demoCommand } from './demo.ts';

const program = new Command('sigpost')
  .description('sigpost: electronic postage from end to end (central signer, postal verification pipeline)')
  .showHelpAfterError()
  .enablePositionalOptions();

centralCommands(program);
pipelineCommands(program);
simCommands(program);
demoCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  process.stderr.write(`sigpost: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
