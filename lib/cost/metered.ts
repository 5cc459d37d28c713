/**
 * Metering decorators: a {@link Bucket} and a {@link KVStore} that pass
 * every call through and report, for each one, the S3 or DynamoDB requests
 * it costs (or would cost, over the filesystem and LevelDB), the DynamoDB
 * capacity units it consumes and the tenant it belongs to.
 *
 * They wrap the root stores (before `Storage` prefixes them per tenant), so
 * the tenant is read off the key: objects `tenants/<tenant>/…`, index
 * partitions `<tenant>/…`, and the tenant registry partition `_tenants`
 * (lib/tsdb/db.ts) is charged to the tenant it registers. Calls spanning
 * tenants (listing `tenants/`) are charged to the tenant `""` (shared).
 *
 * The requests are those S3Bucket and DynamoKVStore send for the same call
 * when nothing is retried: one per object call, one ListObjectsV2 per 1000
 * keys consumed, one BatchWriteItem per 25 items, one Query per 1 MB page,
 * one BatchGetItem per 100 distinct keys (and per further 16 MB answered).
 * Retries and throttled attempts (which the backends' own OpCounter does
 * count) are not seen here. Capacity units follow lib/cost/model.ts; a
 * delete is charged by the deleted item's size when this decorator saw the
 * item written or read (items over 1 KB are remembered), else 1 WRU (our
 * index and catalog items are far below 1 KB); a Query
 * the caller abandons mid-page is charged for the items it consumed only.
 */
import type { Bucket, ObjectAttributes } from '../objstore/bucket.ts';
import { kvGetMany, type KVItem, type KVKey, type KVQueryOptions, type KVStore } from '../kvstore/kvstore.ts';
import { TenantsPartition, tenantIndexPrefix, tenantObjectPrefix } from '../tsdb/db.ts';
import { compareUtf8 } from '../util/utf8.ts';
import { DynamoBatchWriteItems, DynamoQueryPageBytes, S3ListPageKeys, dynamoItemBytes, readUnits, utf8Length, writeUnits } from './model.ts';

/** One metered call's cost drivers. */
export interface MeteredOp {
  /** The tenant charged; `""` when the call is not any one tenant's. */
  tenant: string;
  service: 's3' | 'dynamodb';
  /** The AWS API operation as billed (`PutObject`, `GetObject`, `BatchWriteItem`, `Query`, …). */
  op: string;
  /** Requests sent. */
  requests: number;
  /** Items written or read (DynamoDB), keys listed (S3 LIST). */
  items: number;
  /** DynamoDB write or read request units (0 for S3). */
  capacityUnits: number;
  /** Bytes of object data or item data moved. */
  bytes: number;
  /**
   * What was touched: the first segment of the tenant-relative object key
   * (`segments`, `blocks`) or index partition (`ix` = label index,
   * `catalog`, `deletions`, `leases`, `sealed`; `_tenants` for the
   * registry). Benchmarks split costs by it; the metrics ignore it.
   */
  scope: string;
}

/** Receives metered operations (the cost metrics, a ledger in benchmarks). */
export interface OpSink {
  record(op: MeteredOp): void;
}

/** A sink that hands every operation to each of `sinks`. */
export function fanOut(...sinks: OpSink[]): OpSink {
  return { record: (op) => { for (const s of sinks) s.record(op); } };
}

/** What precedes the tenant in object keys (`tenants/`), and what follows it in index partition keys (`/`). */
const ObjectRoot = tenantObjectPrefix('\u0000').split('\u0000')[0]!;
const IndexSeparator = tenantIndexPrefix('\u0000').split('\u0000')[1]!;

/** The tenant an object key (or listing prefix) belongs to, `""` if none. */
export function tenantOfObjectKey(key: string): string {
  if (!key.startsWith(ObjectRoot)) return '';
  const end = key.indexOf('/', ObjectRoot.length);
  return end < 0 ? '' : key.slice(ObjectRoot.length, end);
}

/** The scope (see {@link MeteredOp.scope}) of an object key or listing prefix. */
export function scopeOfObjectKey(key: string): string {
  const t = tenantOfObjectKey(key);
  const rest = t === '' ? key : key.slice(ObjectRoot.length + t.length + 1);
  const end = rest.indexOf('/');
  return end < 0 ? rest : rest.slice(0, end);
}

/** The scope (see {@link MeteredOp.scope}) of an index partition. */
export function scopeOfIndexKey(pk: string): string {
  if (pk === TenantsPartition) return pk;
  const start = pk.indexOf(IndexSeparator);
  const rest = start < 0 ? pk : pk.slice(start + IndexSeparator.length);
  const end = rest.indexOf('/');
  return end < 0 ? rest : rest.slice(0, end);
}

/** The tenant an index item belongs to, `""` if none. */
export function tenantOfIndexKey(pk: string, sk: string): string {
  if (pk === TenantsPartition) return sk;
  const end = pk.indexOf(IndexSeparator);
  return end < 0 ? '' : pk.slice(0, end);
}

function op(tenant: string, scope: string, service: 's3' | 'dynamodb', name: string, requests: number, items: number, capacityUnits: number, bytes: number): MeteredOp {
  return { tenant, service, op: name, requests, items, capacityUnits, bytes, scope };
}

/** A {@link Bucket} that reports each call's S3 requests to `sink`. */
export function meteredBucket(inner: Bucket, sink: OpSink): Bucket {
  return new MeteredBucket(inner, sink);
}

class MeteredBucket implements Bucket {
  constructor(
    private readonly inner: Bucket,
    private readonly sink: OpSink,
  ) {}

  async get(key: string): Promise<Uint8Array> {
    return this.#charged(key, 'GetObject', () => this.inner.get(key));
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    // S3Bucket turns an empty range into a HEAD (HTTP cannot express it).
    return this.#charged(key, length === 0 ? 'HeadObject' : 'GetObject', () => this.inner.getRange(key, offset, length));
  }

  head(key: string): Promise<ObjectAttributes> {
    return this.#charged(key, 'HeadObject', () => this.inner.head(key));
  }

  exists(key: string): Promise<boolean> {
    return this.#charged(key, 'HeadObject', () => this.inner.exists(key));
  }

  async *iter(prefix: string): AsyncIterable<string> {
    const tenant = tenantOfObjectKey(prefix);
    const scope = scopeOfObjectKey(prefix);
    // The first page is asked for when iteration starts, the next one only
    // when the consumer wants a key past the 1000th, and so on.
    this.sink.record(op(tenant, scope, 's3', 'ListObjectsV2', 1, 0, 0, 0));
    let n = 0;
    for await (const key of this.inner.iter(prefix)) {
      if (n > 0 && n % S3ListPageKeys === 0) this.sink.record(op(tenant, scope, 's3', 'ListObjectsV2', 1, 0, 0, 0));
      n++;
      this.sink.record(op(tenant, scope, 's3', 'ListObjectsV2', 0, 1, 0, 0));
      yield key;
    }
  }

  isNotFound(err: unknown): boolean {
    return this.inner.isNotFound(err);
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    this.sink.record(op(tenantOfObjectKey(key), scopeOfObjectKey(key), 's3', 'PutObject', 1, 1, 0, data.length));
    await this.inner.put(key, data);
  }

  async delete(key: string): Promise<void> {
    this.sink.record(op(tenantOfObjectKey(key), scopeOfObjectKey(key), 's3', 'DeleteObject', 1, 1, 0, 0));
    await this.inner.delete(key);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Charges one request (404s are billed too), and the bytes returned when they are bytes. */
  async #charged<T>(key: string, name: string, call: () => Promise<T>): Promise<T> {
    const tenant = tenantOfObjectKey(key);
    const scope = scopeOfObjectKey(key);
    let out: T;
    try {
      out = await call();
    } catch (err) {
      this.sink.record(op(tenant, scope, 's3', name, 1, 1, 0, 0));
      throw err;
    }
    this.sink.record(op(tenant, scope, 's3', name, 1, 1, 0, out instanceof Uint8Array ? out.length : 0));
    return out;
  }
}

/** A {@link KVStore} that reports each call's DynamoDB requests and capacity units to `sink`. */
export function meteredKVStore(inner: KVStore, sink: OpSink): KVStore {
  return new MeteredKVStore(inner, sink);
}

/** Keys in one BatchGetItem at most (DynamoDB's limit, DynamoKVStore's MAX_BATCH_GET). */
const BatchGetKeys = 100;

/** Item bytes one BatchGetItem answers at most before it leaves keys unprocessed (DynamoDB's 16 MB). */
const BatchGetPageBytes = 16 * 1024 * 1024;

/** Items over 1 KB whose size a metered store remembers, to charge their deletion (at most this many). */
const MaxRememberedSizes = 100_000;

/** What one batch write charges to one (tenant, scope). */
interface BatchGroup {
  tenant: string;
  scope: string;
  items: number;
  units: number;
  bytes: number;
}

class MeteredKVStore implements KVStore {
  readonly reclaim?: () => Promise<void>;
  /**
   * Sizes of items over 1 KB seen written or read here: DynamoDB charges a
   * delete by the size of the item deleted (tombstone items listing a
   * whole compaction job are tens of KB), which the delete call does not
   * carry. Smaller or unseen items are charged 1 WRU.
   */
  readonly #large = new Map<string, number>();

  #remember(pk: string, sk: string, bytes: number): void {
    if (bytes <= 1024) return;
    if (this.#large.size >= MaxRememberedSizes) this.#large.clear();
    this.#large.set(`${pk}\u0000${sk}`, bytes);
  }

  constructor(
    private readonly inner: KVStore,
    private readonly sink: OpSink,
  ) {
    if (inner.reclaim !== undefined) this.reclaim = () => inner.reclaim!();
  }

  async get(pk: string, sk: string): Promise<Uint8Array | undefined> {
    const tenant = tenantOfIndexKey(pk, sk);
    const scope = scopeOfIndexKey(pk);
    let v: Uint8Array | undefined;
    try {
      v = await this.inner.get(pk, sk);
    } catch (err) {
      this.sink.record(op(tenant, scope, 'dynamodb', 'GetItem', 1, 0, readUnits(0), 0));
      throw err;
    }
    const bytes = v === undefined ? 0 : dynamoItemBytes(pk, sk, v.length);
    this.#remember(pk, sk, bytes);
    this.sink.record(op(tenant, scope, 'dynamodb', 'GetItem', 1, v === undefined ? 0 : 1, readUnits(bytes), bytes));
    return v;
  }

  /**
   * Charged as DynamoKVStore reads: each distinct key once, in
   * BatchGetItems of 100 (a further request per started 16 MB of items
   * answered: DynamoDB's page limit, approximated), and 1 RRU per started
   * 4 KB of each item, strongly consistent; an absent key costs 1 RRU, as
   * a GetItem of one does.
   */
  async getMany(keys: readonly KVKey[]): Promise<(Uint8Array | undefined)[]> {
    const unique: KVKey[] = [];
    const first = new Map<string, number>();
    for (let i = 0; i < keys.length; i++) {
      const id = `${keys[i]!.pk}\u0000${keys[i]!.sk}`;
      if (first.has(id)) continue;
      first.set(id, i);
      unique.push(keys[i]!);
    }
    let values: (Uint8Array | undefined)[];
    try {
      values = await kvGetMany(this.inner, keys);
    } catch (err) {
      this.#batchGet(unique, () => 0, false);
      throw err;
    }
    this.#batchGet(unique, (k) => {
      const v = values[first.get(`${k.pk}\u0000${k.sk}`)!];
      return v === undefined ? -1 : dynamoItemBytes(k.pk, k.sk, v.length);
    }, true);
    return values;
  }

  async *query(pk: string, opts: KVQueryOptions = {}): AsyncIterable<KVItem> {
    const page = this.#queryPages(pk, opts);
    if (page === undefined) {
      yield* this.inner.query(pk, opts);
      return;
    }
    try {
      for await (const it of this.inner.query(pk, opts)) {
        page.item(it.sk, it.value.length);
        yield it;
      }
    } finally {
      page.close();
    }
  }

  /**
   * The charge of one query, page by page as DynamoKVStore's Query
   * requests would split it: `item` per item answered, `close` at the
   * end. Undefined for queries that cannot match, for which DynamoKVStore
   * sends nothing.
   */
  #queryPages(pk: string, opts: KVQueryOptions): { item(sk: string, valueBytes: number): void; close(): void } | undefined {
    if (opts.limit === 0 || opts.end === '') return undefined;
    if (opts.prefix === undefined && opts.start !== undefined && opts.start !== '' && opts.end !== undefined && compareUtf8(opts.start, opts.end) > 0) return undefined;
    const tenant = tenantOfIndexKey(pk, '');
    const scope = scopeOfIndexKey(pk);
    // dynamoItemBytes with the partition's part counted once (a query's items are many).
    const keyBytes = dynamoItemBytes(pk, '', 0);
    let pageBytes = 0;
    let pageItems = 0;
    const closePage = (): void => {
      this.sink.record(op(tenant, scope, 'dynamodb', 'Query', 1, pageItems, readUnits(pageBytes), pageBytes));
      pageBytes = 0;
      pageItems = 0;
    };
    return {
      item: (sk, valueBytes) => {
        const size = keyBytes + utf8Length(sk) + valueBytes;
        if (size > 1024) this.#remember(pk, sk, size);
        if (pageItems > 0 && pageBytes + size > DynamoQueryPageBytes) closePage();
        pageBytes += size;
        pageItems++;
      },
      close: closePage,
    };
  }

  async batchPut(items: readonly KVItem[]): Promise<void> {
    this.#batch(items, 'put');
    await this.inner.batchPut(items);
  }

  async putIfAbsent(item: KVItem): Promise<boolean> {
    const bytes = dynamoItemBytes(item.pk, item.sk, item.value.length);
    this.#remember(item.pk, item.sk, bytes);
    // A failed condition is charged like a write.
    this.sink.record(op(tenantOfIndexKey(item.pk, item.sk), scopeOfIndexKey(item.pk), 'dynamodb', 'PutItem', 1, 1, writeUnits(bytes), bytes));
    return this.inner.putIfAbsent(item);
  }

  async replaceIf(item: KVItem, expected: Uint8Array): Promise<boolean> {
    const bytes = dynamoItemBytes(item.pk, item.sk, Math.max(item.value.length, expected.length));
    this.sink.record(op(tenantOfIndexKey(item.pk, item.sk), scopeOfIndexKey(item.pk), 'dynamodb', 'PutItem', 1, 1, writeUnits(bytes), bytes));
    return this.inner.replaceIf(item, expected);
  }

  async batchDelete(keys: readonly { pk: string; sk: string }[]): Promise<void> {
    // DynamoKVStore drops repeated keys before sending.
    const seen = new Set<string>();
    const unique: { pk: string; sk: string; value?: undefined }[] = [];
    for (const k of keys) {
      const id = `${k.pk}\u0000${k.sk}`;
      if (seen.has(id)) continue;
      seen.add(id);
      unique.push(k);
    }
    this.#batch(unique, 'delete');
    await this.inner.batchDelete(keys);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /**
   * Charges the BatchGetItems of `getMany` for distinct keys: `size` gives
   * each key's item bytes, -1 when absent. Requests are split over the
   * tenants' scopes in proportion to keys, as for batch writes.
   */
  #batchGet(keys: readonly KVKey[], size: (k: KVKey) => number, found: boolean): void {
    if (keys.length === 0) return;
    let requests = 0;
    for (let i = 0; i < keys.length; i += BatchGetKeys) {
      let bytes = 0;
      for (let j = i; j < Math.min(keys.length, i + BatchGetKeys); j++) bytes += Math.max(0, size(keys[j]!));
      requests += Math.max(1, Math.ceil(bytes / BatchGetPageBytes));
    }
    const groups = new Map<string, { tenant: string; scope: string; keys: number; items: number; units: number; bytes: number }>();
    for (const k of keys) {
      const tenant = tenantOfIndexKey(k.pk, k.sk);
      const scope = scopeOfIndexKey(k.pk);
      const gk = `${tenant}\u0000${scope}`;
      let g = groups.get(gk);
      if (g === undefined) groups.set(gk, (g = { tenant, scope, keys: 0, items: 0, units: 0, bytes: 0 }));
      const bytes = size(k);
      g.keys++;
      g.units += readUnits(Math.max(0, bytes));
      if (found && bytes >= 0) {
        g.items++;
        g.bytes += bytes;
        this.#remember(k.pk, k.sk, bytes);
      }
    }
    for (const g of groups.values()) {
      this.sink.record(op(g.tenant, g.scope, 'dynamodb', 'BatchGetItem', (requests * g.keys) / keys.length, g.items, g.units, g.bytes));
    }
  }

  /** Charges a batch write: one BatchWriteItem per 25 items of a tenant. */
  #batch(items: readonly { pk: string; sk: string; value?: Uint8Array }[], kind: 'put' | 'delete'): void {
    if (items.length === 0) return;
    const groups = this.#groups(items, kind);
    // Requests are split per tenant (callers never mix tenants in one batch); within a tenant, in proportion to items per scope.
    for (const g of groups) {
      let n = 0;
      for (const h of groups) if (h.tenant === g.tenant) n += h.items;
      this.sink.record(op(g.tenant, g.scope, 'dynamodb', 'BatchWriteItem', (Math.ceil(n / DynamoBatchWriteItems) * g.items) / n, g.items, g.units, g.bytes));
    }
  }

  /**
   * The items of a batch write summed per (tenant, scope). A function of
   * its own, ending with its loop: V8 optimises the loop of a first, large
   * batch while it runs (on-stack replacement), before any code after the
   * loop has run, and code after the loop in the same function then
   * deoptimised at every later call (about 600 times per benchmark run,
   * seen with --trace-deopt).
   */
  #groups(items: readonly { pk: string; sk: string; value?: Uint8Array }[], kind: 'put' | 'delete'): BatchGroup[] {
    // One or a few (tenant, scope) pairs per batch: a short list searched
    // in place, no key string per item. The pair and the UTF-8 length of
    // each partition key are worked out once per partition of the batch
    // (items share partitions: postings lists, names, values).
    const groups: BatchGroup[] = [];
    const byPk = new Map<string, PkGroup>();
    for (const it of items) {
      let pg = byPk.get(it.pk);
      if (pg === undefined) {
        pg = { g: this.#groupOf(groups, tenantOfIndexKey(it.pk, it.sk), scopeOfIndexKey(it.pk)), pkBytes: utf8Length(it.pk) };
        // The tenants partition names its tenant in the sort key.
        if (it.pk !== TenantsPartition) byPk.set(it.pk, pg);
      }
      const g = pg.g;
      g.items++;
      if (kind === 'put') {
        // dynamoItemBytes(pk, sk, n) with pk's length known.
        const bytes = dynamoItemBytes('', it.sk, it.value!.length) + pg.pkBytes;
        g.units += writeUnits(bytes);
        g.bytes += bytes;
        this.#remember(it.pk, it.sk, bytes);
      } else {
        const id = `${it.pk}\u0000${it.sk}`;
        g.units += writeUnits(this.#large.get(id) ?? 0);
        this.#large.delete(id);
      }
    }
    return groups;
  }

  /** The group of (tenant, scope) in `groups`, added if missing. */
  #groupOf(groups: BatchGroup[], tenant: string, scope: string): BatchGroup {
    for (const h of groups) if (h.tenant === tenant && h.scope === scope) return h;
    const g = { tenant, scope, items: 0, units: 0, bytes: 0 };
    groups.push(g);
    return g;
  }
}

/** A partition's group in a batch and its key's UTF-8 length. */
interface PkGroup {
  readonly g: BatchGroup;
  readonly pkBytes: number;
}
