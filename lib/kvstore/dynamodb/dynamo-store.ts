/**
 * A key-value store on one DynamoDB table, for the AWS deployment.
 *
 * Table schema (created by `ensureTable` in `ensure-table.ts`): partition key `pk` (S), sort key
 * `sk` (S), and the value in a binary attribute `v` (B). DynamoDB orders
 * string sort keys by their UTF-8 bytes, which is the order `KVStore`
 * promises, so queries map straight onto key conditions.
 *
 * Item expiry (optional, {@link DynamoKVStoreOptions.expiry}): items the
 * policy names get a Number attribute with their expiry time in epoch
 * seconds, which DynamoDB's Time to Live deletes, free of write units, some
 * time after (lazily, typically within a few days). So that callers never
 * depend on when that happens, reads treat an item as gone from its expiry
 * time on: `get`, `getMany` and `query` skip items whose expiry has passed
 * (`putIfAbsent` and `replaceIf` still see an expired item DynamoDB has
 * not deleted yet; no expiring item is written with them).
 *
 * Every read is strongly consistent. Throttling (a throttling exception,
 * HTTP 503, or items a BatchWriteItem or BatchGetItem left unprocessed) is retried here
 * with jittered exponential backoff, on top of whatever retries the SDK
 * client makes, and becomes a {@link ThrottledError} once the attempts run
 * out. Every other failure becomes a {@link BackendError} naming the call.
 */
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type AttributeValue,
  type DynamoDBClient,
  type KeysAndAttributes,
  type QueryCommandInput,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import type { OpCounter } from '../../storage/ops.ts';
import { BackendError, CorruptionError, ThrottledError } from '../../util/errors.ts';
import { compareUtf8 } from '../../util/utf8.ts';
import type { ItemExpiry, KVItem, KVKey, KVQueryOptions, KVStore } from '../kvstore.ts';
import { checkBatch, checkItem, checkKey, checkQuery } from '../validate.ts';

/** The most write requests one BatchWriteItem may carry (DynamoDB's limit). */
export const MAX_BATCH_WRITE = 25;

/** The most keys one BatchGetItem may ask for (DynamoDB's limit). */
export const MAX_BATCH_GET = 100;

/** How throttled requests are retried. */
export interface DynamoRetryOptions {
  /**
   * Requests sent per call (or per batch of 25 writes or 100 reads) before
   * giving up with a ThrottledError, the first one included. A BatchGetItem
   * that returned items resets the count: its unprocessed keys are the next
   * page (DynamoDB answers at most 16 MB at once), not a throttle.
   * @default 8
   */
  attempts?: number;
  /**
   * The backoff before retry n is uniform in [0, min(capMs, baseMs * 2^(n-1))).
   * @default 25
   */
  baseMs?: number;
  /** @default 1000 */
  capMs?: number;
}

/** Options of {@link DynamoKVStore}. */
export interface DynamoKVStoreOptions {
  /**
   * The SDK client. It stays the caller's: `close()` does not destroy it,
   * so one client can serve several stores.
   */
  client: DynamoDBClient;
  /** The table name; the table must exist with the schema `ensureTable` creates. */
  table: string;
  /**
   * Counts every HTTP request sent as `('dynamodb', <operation>, units)`,
   * retries included (the SDK's own retries as well as ours). Units are the
   * items in the request for BatchWriteItem, the keys for BatchGetItem, 1
   * otherwise.
   */
  counter?: OpCounter;
  /** Retries of throttled requests. */
  retry?: DynamoRetryOptions;
  /**
   * BatchWriteItem requests in flight at once within one batchPut or
   * batchDelete call, and BatchGetItem requests within one getMany call.
   * @default 4
   */
  concurrency?: number;
  /**
   * Gives the items the policy names an expiry attribute, and hides them
   * from reads once expired. The table must have Time to Live enabled on
   * `expiry.attribute` (infra/constructs/stratus-storage.ts does), or the
   * items are hidden but never deleted.
   * @default no item expires
   */
  expiry?: ItemExpiry;
  /** Clock for expiry, ms. @default Date.now */
  now?: () => number;
}

const THROTTLE_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
]);

/**
 * A {@link KVStore} on a DynamoDB table.
 *
 * Values are returned as Uint8Arrays that own their memory (never views
 * into a buffer pool shared with other data), so callers may keep them.
 * `putIfAbsent` is a conditional PutItem and so atomic across processes.
 */
export class DynamoKVStore implements KVStore {
  readonly #client: DynamoDBClient;
  readonly #table: string;
  readonly #counter: OpCounter | undefined;
  readonly #attempts: number;
  readonly #baseMs: number;
  readonly #capMs: number;
  readonly #concurrency: number;
  readonly #expiry: ItemExpiry | undefined;
  readonly #now: () => number;

  constructor(opts: DynamoKVStoreOptions) {
    this.#client = opts.client;
    this.#table = opts.table;
    this.#counter = opts.counter;
    this.#attempts = Math.max(1, opts.retry?.attempts ?? 8);
    this.#baseMs = opts.retry?.baseMs ?? 25;
    this.#capMs = opts.retry?.capMs ?? 1000;
    this.#concurrency = Math.max(1, opts.concurrency ?? 4);
    this.#expiry = opts.expiry;
    this.#now = opts.now ?? Date.now;
  }

  /** Whether this store gives some items an expiry (see {@link DynamoKVStoreOptions.expiry}). */
  get expiresItems(): boolean {
    return this.#expiry !== undefined;
  }

  /** The attributes of an item as written: key, value and, if the policy says so, its expiry. */
  #attributes(item: KVItem, now: number): Record<string, AttributeValue> {
    const out: Record<string, AttributeValue> = { pk: { S: item.pk }, sk: { S: item.sk }, v: { B: item.value } };
    const e = this.#expiry;
    if (e !== undefined) {
      const at = e.expiresAt(item.pk, item.sk, now);
      if (at !== undefined) out[e.attribute] = { N: String(Math.ceil(at / 1000)) };
    }
    return out;
  }

  /** Whether a raw item read back has expired (its expiry attribute is at or before now). */
  #expired(raw: Record<string, AttributeValue>, now: number): boolean {
    const e = this.#expiry;
    if (e === undefined) return false;
    const n = raw[e.attribute]?.N;
    return n !== undefined && Number(n) * 1000 <= now;
  }

  /** Projection of reads (the expiry attribute too when items expire) and its name map. */
  #projection(base: string): { ProjectionExpression: string; ExpressionAttributeNames?: Record<string, string> } {
    if (this.#expiry === undefined) return { ProjectionExpression: base };
    return { ProjectionExpression: `${base}, #exp`, ExpressionAttributeNames: { '#exp': this.#expiry.attribute } };
  }

  async get(pk: string, sk: string): Promise<Uint8Array | undefined> {
    checkKey(pk, sk);
    const input = {
      TableName: this.#table,
      Key: { pk: { S: pk }, sk: { S: sk } },
      ConsistentRead: true,
      ...this.#projection('v'),
    };
    const out = await this.#call(`get (${pk}, ${sk})`, () =>
      this.#client.send(this.#counted(new GetItemCommand(input), 'GetItem')),
    );
    if (out.Item === undefined || this.#expired(out.Item, this.#now())) return undefined;
    return valueOf(out.Item, pk, sk);
  }

  /**
   * BatchGetItems of at most 100 distinct keys (DynamoDB rejects repeats in
   * one request), up to `concurrency` at once (as batch writes), each
   * key asked for once however often it is listed.
   */
  async getMany(keys: readonly KVKey[]): Promise<(Uint8Array | undefined)[]> {
    for (const { pk, sk } of keys) checkKey(pk, sk);
    const out: (Uint8Array | undefined)[] = new Array(keys.length).fill(undefined);
    if (keys.length === 0) return out;
    // Where each distinct key's value goes: its first position, then the repeats.
    const slots = new Map<string, number[]>();
    const unique: Record<string, AttributeValue>[] = [];
    for (let i = 0; i < keys.length; i++) {
      const { pk, sk } = keys[i]!;
      const id = itemId(pk, sk);
      const at = slots.get(id);
      if (at !== undefined) {
        at.push(i);
        continue;
      }
      slots.set(id, [i]);
      unique.push({ pk: { S: pk }, sk: { S: sk } });
    }
    const what = `getMany ${keys.length} keys`;
    const found = (raw: Record<string, AttributeValue>, now: number): void => {
      const pk = raw.pk?.S;
      const sk = raw.sk?.S;
      const at = pk === undefined || sk === undefined ? undefined : slots.get(itemId(pk, sk));
      if (at === undefined) throw new CorruptionError(`${what}: BatchGetItem returned an item that was not asked for`);
      if (this.#expired(raw, now)) return;
      const value = valueOf(raw, pk!, sk!);
      out[at[0]!] = value;
      // Every caller owns its result: repeats get copies.
      for (let j = 1; j < at.length; j++) out[at[j]!] = value.slice();
    };
    await this.#inChunks(unique, MAX_BATCH_GET, (chunk) => this.#getChunk(what, chunk, found));
    return out;
  }

  /**
   * One BatchGetItem, asking again for the unprocessed keys until none are
   * left. Only their keys are taken from the answer; the request around
   * them (consistency, projection) is always ours.
   */
  async #getChunk(
    what: string,
    keys: Record<string, AttributeValue>[],
    found: (raw: Record<string, AttributeValue>, now: number) => void,
  ): Promise<void> {
    let pending = keys;
    // Requests sent since the last one that returned items.
    let attempt = 0;
    for (;;) {
      attempt++;
      let cause: unknown;
      try {
        const request: KeysAndAttributes = { Keys: pending, ConsistentRead: true, ...this.#projection('pk, sk, v') };
        const cmd = new BatchGetItemCommand({ RequestItems: { [this.#table]: request } });
        const out = await this.#client.send(this.#counted(cmd, 'BatchGetItem', pending.length));
        const items = out.Responses?.[this.#table] ?? [];
        const now = this.#now();
        for (const raw of items) found(raw, now);
        const unprocessed = out.UnprocessedKeys?.[this.#table]?.Keys ?? [];
        if (unprocessed.length === 0) return;
        // A partial answer that returned items is a page, not a throttle.
        if (items.length > 0) attempt = 0;
        pending = unprocessed;
      } catch (err) {
        if (err instanceof CorruptionError) throw err;
        if (!isThrottle(err)) throw backendError(what, err);
        cause = err;
      }
      if (attempt >= this.#attempts) {
        throw new ThrottledError(
          `${what}: ${pending.length} keys still unread after ${attempt} attempts (throttled)`,
          { cause },
        );
      }
      await sleep(this.#backoff(Math.max(1, attempt)));
    }
  }

  async *query(pk: string, opts: KVQueryOptions = {}): AsyncIterable<KVItem> {
    checkQuery(pk, opts);
    const cond = keyCondition(pk, opts);
    if (cond === undefined) return;
    let remaining = opts.limit ?? Infinity;
    if (remaining === 0) return;
    const what = `query ${pk}`;
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const input: QueryCommandInput = {
        TableName: this.#table,
        KeyConditionExpression: cond.expression,
        ExpressionAttributeValues: cond.values,
        ...this.#projection('sk, v'),
        ScanIndexForward: opts.reverse !== true,
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
        // DynamoDB's Limit is a 32-bit integer; larger limits need none.
        Limit: remaining <= 0x7fffffff ? remaining : undefined,
      };
      const out = await this.#call(what, () =>
        this.#client.send(this.#counted(new QueryCommand(input), 'Query')),
      );
      const now = this.#now();
      for (const raw of out.Items ?? []) {
        if (this.#expired(raw, now)) continue;
        const sk = raw.sk?.S;
        if (sk === undefined) throw new CorruptionError(`${what}: an item has no string sort key`);
        yield { pk, sk, value: valueOf(raw, pk, sk) };
        if (--remaining === 0) return;
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey !== undefined);
  }

  async batchPut(items: readonly KVItem[]): Promise<void> {
    checkBatch(items);
    const now = this.#now();
    const requests = items.map((i): WriteRequest => ({ PutRequest: { Item: this.#attributes(i, now) } }));
    await this.#batchWrite(`batchPut ${items.length} items`, requests);
  }

  async putIfAbsent(item: KVItem): Promise<boolean> {
    checkItem(item);
    const input = {
      TableName: this.#table,
      Item: this.#attributes(item, this.#now()),
      ConditionExpression: 'attribute_not_exists(pk)',
    };
    return this.#call(`putIfAbsent (${item.pk}, ${item.sk})`, async () => {
      try {
        await this.#client.send(this.#counted(new PutItemCommand(input), 'PutItem'));
        return true;
      } catch (err) {
        if (errorName(err) === 'ConditionalCheckFailedException') return false;
        throw err;
      }
    });
  }

  async replaceIf(item: KVItem, expected: Uint8Array): Promise<boolean> {
    checkItem(item);
    const input = {
      TableName: this.#table,
      Item: this.#attributes(item, this.#now()),
      ConditionExpression: 'v = :expected',
      ExpressionAttributeValues: { ':expected': { B: expected } },
    };
    return this.#call(`replaceIf (${item.pk}, ${item.sk})`, async () => {
      try {
        await this.#client.send(this.#counted(new PutItemCommand(input), 'PutItem'));
        return true;
      } catch (err) {
        if (errorName(err) === 'ConditionalCheckFailedException') return false;
        throw err;
      }
    });
  }

  async batchDelete(keys: readonly { pk: string; sk: string }[]): Promise<void> {
    for (const k of keys) checkKey(k.pk, k.sk);
    // BatchWriteItem rejects a request that names one key twice.
    const seen = new Set<string>();
    const requests: WriteRequest[] = [];
    for (const { pk, sk } of keys) {
      const id = pk + '\0' + sk;
      if (seen.has(id)) continue;
      seen.add(id);
      requests.push({ DeleteRequest: { Key: { pk: { S: pk }, sk: { S: sk } } } });
    }
    await this.#batchWrite(`batchDelete ${keys.length} keys`, requests);
  }

  /** Nothing to release: the client belongs to the caller. */
  async close(): Promise<void> {}

  /**
   * Sends the requests in BatchWriteItems of at most 25, up to
   * `concurrency` at once. After the first failure no further batch starts;
   * the ones under way finish and the first error is thrown.
   */
  async #batchWrite(what: string, requests: WriteRequest[]): Promise<void> {
    await this.#inChunks(requests, MAX_BATCH_WRITE, (chunk) => this.#writeChunk(what, chunk));
  }

  /**
   * Runs `run` on consecutive slices of `all` of at most `size`, up to
   * `concurrency` at once. After the first failure no further slice starts;
   * the ones under way finish and the first error is thrown.
   */
  async #inChunks<T>(all: readonly T[], size: number, run: (chunk: T[]) => Promise<void>): Promise<void> {
    let next = 0;
    let failure: { err: unknown } | undefined;
    const worker = async (): Promise<void> => {
      while (failure === undefined && next < all.length) {
        const chunk = all.slice(next, next + size);
        next += size;
        try {
          await run(chunk);
        } catch (err) {
          failure ??= { err };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, Math.ceil(all.length / size)) }, worker));
    if (failure !== undefined) throw failure.err;
  }

  /** One BatchWriteItem, resending unprocessed items until none are left. */
  async #writeChunk(what: string, requests: WriteRequest[]): Promise<void> {
    let pending = requests;
    for (let attempt = 1; ; attempt++) {
      let cause: unknown;
      try {
        const cmd = new BatchWriteItemCommand({ RequestItems: { [this.#table]: pending } });
        const out = await this.#client.send(this.#counted(cmd, 'BatchWriteItem', pending.length));
        const unprocessed = out.UnprocessedItems?.[this.#table] ?? [];
        if (unprocessed.length === 0) return;
        pending = unprocessed;
      } catch (err) {
        if (!isThrottle(err)) throw backendError(what, err);
        cause = err;
      }
      if (attempt >= this.#attempts) {
        throw new ThrottledError(
          `${what}: ${pending.length} items still unwritten after ${attempt} attempts (throttled)`,
          { cause },
        );
      }
      await sleep(this.#backoff(attempt));
    }
  }

  /** Runs one request, retrying it while it is throttled. */
  async #call<T>(what: string, send: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send();
      } catch (err) {
        if (!isThrottle(err)) throw backendError(what, err);
        if (attempt >= this.#attempts) {
          throw new ThrottledError(`${what}: throttled ${attempt} times (${describe(err)})`, { cause: err });
        }
      }
      await sleep(this.#backoff(attempt));
    }
  }

  /** Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))). */
  #backoff(attempt: number): number {
    return Math.random() * Math.min(this.#capMs, this.#baseMs * 2 ** (attempt - 1));
  }

  /**
   * Adds a middleware to the command that counts each HTTP attempt. It sits
   * below the SDK's retry middleware, so SDK retries are counted too.
   */
  #counted<C extends { middlewareStack: unknown }>(cmd: C, op: string, units = 1): C {
    const counter = this.#counter;
    if (counter === undefined) return cmd;
    // The stacks are typed per command; this middleware passes everything through.
    (cmd.middlewareStack as CountingStack).add(
      (next) => async (args) => {
        counter.count('dynamodb', op, units);
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'stratusOpCounter' },
    );
    return cmd;
  }
}

/** A map key for one (pk, sk): a pk holds no U+0000. */
function itemId(pk: string, sk: string): string {
  return pk + '\0' + sk;
}

/** A finalizeRequest middleware, in the shape the SDK's stacks accept. */
type FinalizeMiddleware = (
  next: (args: unknown) => Promise<unknown>,
) => (args: unknown) => Promise<unknown>;

/** The part of an SDK command's middleware stack used to count requests. */
interface CountingStack {
  add(mw: FinalizeMiddleware, opts: { step: 'finalizeRequest'; priority: 'low'; name: string }): void;
}

/** The key condition of a query, or undefined when it can match nothing. */
function keyCondition(
  pk: string,
  opts: KVQueryOptions,
): { expression: string; values: Record<string, AttributeValue> } | undefined {
  const values: Record<string, AttributeValue> = { ':pk': { S: pk } };
  if (opts.prefix !== undefined) {
    // DynamoDB rejects empty strings in key conditions; '' prefixes everything.
    if (opts.prefix === '') return { expression: 'pk = :pk', values };
    values[':p'] = { S: opts.prefix };
    return { expression: 'pk = :pk AND begins_with(sk, :p)', values };
  }
  // Sort keys are never empty, so start '' is no bound and end '' excludes all.
  const start = opts.start === '' ? undefined : opts.start;
  const end = opts.end;
  if (end === '') return undefined;
  if (start !== undefined && end !== undefined) {
    // DynamoDB rejects BETWEEN with its bounds the wrong way round.
    if (compareUtf8(start, end) > 0) return undefined;
    values[':a'] = { S: start };
    values[':b'] = { S: end };
    return { expression: 'pk = :pk AND sk BETWEEN :a AND :b', values };
  }
  if (start !== undefined) {
    values[':a'] = { S: start };
    return { expression: 'pk = :pk AND sk >= :a', values };
  }
  if (end !== undefined) {
    values[':b'] = { S: end };
    return { expression: 'pk = :pk AND sk <= :b', values };
  }
  return { expression: 'pk = :pk', values };
}

/**
 * The value attribute of a raw item, as a Uint8Array that owns its memory.
 * The SDK decodes small binaries into Node's shared 8 KiB buffer pool;
 * those are copied, buffers of their own are handed on as they are.
 */
function valueOf(raw: Record<string, AttributeValue>, pk: string, sk: string): Uint8Array {
  const v = raw.v?.B;
  if (v === undefined) throw new CorruptionError(`item (${pk}, ${sk}) has no binary attribute v`);
  if (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && !Buffer.isBuffer(v)) return v;
  return new Uint8Array(v);
}

function errorName(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'name' in err && typeof err.name === 'string'
    ? err.name
    : undefined;
}

function httpStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('$metadata' in err)) return undefined;
  const meta = err.$metadata as { httpStatusCode?: number } | undefined;
  return meta?.httpStatusCode;
}

/** True for errors that ask us to slow down: throttling exceptions and HTTP 503. */
function isThrottle(err: unknown): boolean {
  const name = errorName(err);
  return (name !== undefined && THROTTLE_NAMES.has(name)) || httpStatus(err) === 503;
}

/** `Name (HTTP nnn)` for messages. */
function describe(err: unknown): string {
  const status = httpStatus(err);
  const name = errorName(err) ?? String(err);
  return status === undefined ? name : `${name} (HTTP ${status})`;
}

function backendError(what: string, err: unknown): BackendError {
  return new BackendError(`${what}: ${describe(err)}`, { cause: err });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
