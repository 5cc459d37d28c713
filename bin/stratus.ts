/**
 * The `stratus` command: `stratus serve` runs the server, `stratus compact`
 * compacts the stored data once; see `stratus --help`.
 */

import { runCli } from '../lib/server/cli.ts';
import { runServe } from '../lib/server/local.ts';
import { runCompact } from '../lib/server/compact.ts';

const code = await runCli(process.argv.slice(2), {
  serve: runServe,
  compact: async (config) => void (await runCompact(config, { stderr: (text) => process.stderr.write(text) })),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
// Exit explicitly: a graceful shutdown is complete here, and a leftover timer
// or handle must not keep the process alive.
process.exit(code);
