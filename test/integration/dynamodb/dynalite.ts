/**
 * An in-process DynamoDB-compatible server (dynalite, in-memory LevelDB) on
 * a loopback port, for integration tests of the DynamoDB backend. Tables
 * are created, updated and deleted at once (no CREATING state to wait out).
 */
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';

// Recent SDK releases warn on every client under Node 20; tests do not need to hear it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** The options of dynalite used here (the package ships no types). */
interface DynaliteOptions {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (opts: DynaliteOptions) => Server;

/** A running dynalite server. */
export interface Dynalite {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** A new client for this server; `config` overrides the defaults (e.g. `maxAttempts`). */
  client(config?: Partial<DynamoDBClientConfig>): DynamoDBClient;
  /** Stops the server and destroys every client handed out. */
  stop(): Promise<void>;
}

/** The client settings for a loopback endpoint: a fixed region and dummy credentials. */
export function loopbackClientConfig(endpoint: string): DynamoDBClientConfig {
  return {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  };
}

/** Starts dynalite on 127.0.0.1 on a free port. */
export async function startDynalite(): Promise<Dynalite> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: DynamoDBClient[] = [];
  return {
    endpoint,
    client(config = {}) {
      const c = new DynamoDBClient({ ...loopbackClientConfig(endpoint), ...config });
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.destroy();
      server.closeAllConnections?.();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
