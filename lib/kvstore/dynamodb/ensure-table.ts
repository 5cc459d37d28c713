/**
 * Creating the DynamoDB table of {@link DynamoKVStore} when it is missing,
 * for local runs against DynamoDB-compatible servers and first deployments
 * without infrastructure code. Uses only CreateTable and DescribeTable
 * (no TTL, streams or tags), which every compatible server implements.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { BackendError, StratusError } from '../../util/errors.ts';

/** The table exists but its key schema is not the one DynamoKVStore needs. */
export class TableSchemaError extends StratusError {}

/** Options of {@link ensureTable}. */
export interface EnsureTableOptions {
  /**
   * How long to wait for the table to become ACTIVE.
   * @default 300000 (five minutes; AWS usually needs a few seconds)
   */
  timeoutMs?: number;
}

/**
 * Makes sure `table` exists with the key schema of DynamoKVStore (partition
 * key `pk` of type S, sort key `sk` of type S) and is ACTIVE. A missing
 * table is created with on-demand billing (PAY_PER_REQUEST). Idempotent and
 * safe to race: when another process creates the table first, this one
 * waits for it. Throws {@link TableSchemaError} when an existing table has
 * other keys, and {@link BackendError} when DynamoDB fails or the table is
 * not ACTIVE within `timeoutMs`.
 */
export async function ensureTable(
  client: DynamoDBClient,
  table: string,
  opts: EnsureTableOptions = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 300_000);
  let desc = await describe(client, table);
  if (desc === undefined) {
    try {
      const out = await client.send(
        new CreateTableCommand({
          TableName: table,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
          ],
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
        }),
      );
      desc = out.TableDescription;
    } catch (err) {
      // Someone else created it in the meantime: wait for theirs.
      if (nameOf(err) !== 'ResourceInUseException') {
        throw new BackendError(`create table ${table}: ${nameOf(err) ?? String(err)}`, { cause: err });
      }
    }
  }
  let delay = 20;
  for (;;) {
    if (desc !== undefined) {
      checkSchema(table, desc);
      if (desc.TableStatus === 'ACTIVE') return;
      if (desc.TableStatus === 'DELETING') {
        throw new BackendError(`ensure table ${table}: the table is being deleted`);
      }
    }
    if (Date.now() + delay > deadline) {
      throw new BackendError(`ensure table ${table}: not ACTIVE in time (status ${desc?.TableStatus ?? 'missing'})`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 2000);
    desc = await describe(client, table);
  }
}

/** The table's description, or undefined if it does not exist. */
async function describe(client: DynamoDBClient, table: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: table }))).Table;
  } catch (err) {
    if (nameOf(err) === 'ResourceNotFoundException') return undefined;
    throw new BackendError(`describe table ${table}: ${nameOf(err) ?? String(err)}`, { cause: err });
  }
}

function checkSchema(table: string, desc: TableDescription): void {
  const type = (name: string): string | undefined =>
    desc.AttributeDefinitions?.find((a) => a.AttributeName === name)?.AttributeType;
  const keys = (desc.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}:${type(k.AttributeName ?? '')}`);
  const want = ['pk:HASH:S', 'sk:RANGE:S'];
  if (keys.length !== 2 || keys[0] !== want[0] || keys[1] !== want[1]) {
    throw new TableSchemaError(
      `table ${table} has keys [${keys.join(', ')}], want [${want.join(', ')}] (name:key type:attribute type)`,
    );
  }
}

function nameOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'name' in err && typeof err.name === 'string'
    ? err.name
    : undefined;
}
