#!/usr/bin/env node
import { Command } from 'commander';
import { hubCommand } from './hub-command.js';
import { keygenCommand } from './keygen-command.js';

const program = new Command('farthing')
  .description('Farthing: payment channels for IoT devices over MQTT')
  .version('0.1.0')
  .showHelpAfterError()
  .addCommand(hubCommand())
  .addCommand(keygenCommand());

await program.parseAsync(process.argv);
