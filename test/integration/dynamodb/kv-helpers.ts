/**
 * What the DynamoKVStore test files share: one dynalite per file (started
 * by the first test that needs it, stopped after the file), fresh tables on
 * it, fast retries, and small item and counter helpers.
 */
import { after } from 'node:test';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable } from '../../../lib/kvstore/dynamodb/ensure-table.ts';
import type { KVItem } from '../../../lib/kvstore/kvstore.ts';
import type { OpTotals } from '../../../lib/storage/ops.ts';
import { startDynalite, type Dynalite } from './dynalite.ts';

/** Our retry settings in tests: as many attempts as by default, with millisecond backoffs. */
export const fastRetry = { attempts: 8, baseMs: 1, capMs: 4 };

/**
 * The file's dynalite (started on first use, stopped after the file's
 * tests) and a maker of new, empty tables named `<prefix>-<n>` on it.
 */
export function sharedDynalite(prefix: string): { dynamo: () => Promise<Dynalite>; freshTable: (client: DynamoDBClient) => Promise<string> } {
  let server: Promise<Dynalite> | undefined;
  let tables = 0;
  after(async () => {
    if (server !== undefined) await (await server).stop();
  });
  return {
    dynamo: () => (server ??= startDynalite()),
    freshTable: async (client) => {
      const table = `${prefix}-${++tables}`;
      await ensureTable(client, table);
      return table;
    },
  };
}

export function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function item(pk: string, sk: string, value: string): KVItem {
  return { pk, sk, value: text(value) };
}

/** Requests and capacity units the backend counted for one DynamoDB operation. */
export function counted(ops: OpTotals, op: string): { requests: number; units: number } {
  return ops.totals.get(`dynamodb:${op}`) ?? { requests: 0, units: 0 };
}
