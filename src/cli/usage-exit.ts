import type { Command, CommanderError } from 'commander';

/**
 * Every farthing command exits 2 on a usage error (unknown command or option, a bad or missing
 * value), so a script can tell a typo from a refusal (1) or an unreachable hub (3); --help and
 * --version exit 0. Commander exits 1 unless told otherwise.
 */
function exitTwoOnUsageError(error: CommanderError): never {
  process.exit(error.exitCode === 0 ? 0 : 2);
}

/** Applies the usage exit to a command and every subcommand under it. */
export function exitTwoOnUsageErrors(command: Command): Command {
  command.exitOverride(exitTwoOnUsageError);
  for (const sub of command.commands) exitTwoOnUsageErrors(sub);
  return command;
}
