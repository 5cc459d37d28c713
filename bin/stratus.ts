/**
 * The `stratus` command. Usage: `stratus serve [--listen-address=HOST:PORT]
 * [--data-dir=PATH] [--log.level=LEVEL]`; see `stratus --help`.
 */

import { runCli } from '../lib/server/cli.ts';
import { runServe } from '../lib/server/local.ts';

const code = await runCli(process.argv.slice(2), {
  serve: runServe,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
// Exit explicitly: a graceful shutdown is complete here, and a leftover timer
// or handle must not keep the process alive.
process.exit(code);
