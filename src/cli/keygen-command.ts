import { Command } from 'commander';
import { generateKeyPair, saveKeyFile } from '../crypto/keys.js';
import { isFarthingError } from '../errors.js';
import { keyId } from '../protocol/topics.js';

export function keygenCommand(): Command {
  return new Command('keygen')
    .description('create an Ed25519 key file (PKCS#8 PEM, mode 0600) and print its id')
    .requiredOption('--out <file>', 'where to write the key; an existing file is never overwritten')
    .option('--json', 'print {"id": ..., "file": ...}', false)
    .action(async (flags: { out: string; json: boolean }) => {
      const pair = generateKeyPair();
      try {
        await saveKeyFile(flags.out, pair);
      } catch (error) {
        process.stderr.write(
          `farthing keygen: ${isFarthingError(error) ? error.message : String(error)}\n`,
        );
        process.exitCode = 1;
        return;
      }
      const id = keyId(pair.publicKey);
      process.stdout.write(flags.json ? `${JSON.stringify({ id, file: flags.out })}\n` : `${id}\n`);
    });
}
