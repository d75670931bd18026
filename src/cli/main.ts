#!/usr/bin/env node
import { Command } from 'commander';
import { demoCommand } from './demo-command.js';
import { hubCommand } from './hub-command.js';
import { keygenCommand } from './keygen-command.js';
import { opsCommands } from './ops/commands.js';
import { simCommand } from './sim-command.js';
import { exitTwoOnUsageErrors } from './usage-exit.js';

const program = new Command('farthing')
  .description('Farthing: payment channels for IoT devices over MQTT')
  .version('0.1.0')
  .showHelpAfterError()
  .addCommand(hubCommand())
  .addCommand(keygenCommand())
  .addCommand(simCommand())
  .addCommand(demoCommand());

for (const command of opsCommands()) program.addCommand(command);
exitTwoOnUsageErrors(program);

await program.parseAsync(process.argv);
