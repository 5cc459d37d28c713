/**
 * Wiring of the storage for one process: per-tenant databases over one
 * object store and one index store. Tenant scoping happens here, once, with
 * prefixing decorators: everything below works on one tenant's keys.
 */
import type { Bucket } from '../objstore/bucket.ts';
import { prefixedBucket } from '../objstore/prefixed.ts';
import type { KVStore } from '../kvstore/kvstore.ts';
import { prefixedKVStore } from '../kvstore/prefixed.ts';
import { LabelIndex, type PostingsCacheOptions } from '../index/label-index.ts';
import { SealMarks } from '../index/seal-marks.ts';
import { Catalog } from '../catalog/catalog.ts';
import { encodeLabels, seriesId, seriesIdFromHex, type Labels } from '../labels/labels.ts';
import { validateTenant } from '../storage/tenant.ts';
import type { ChunkQuerier, Querier, Queryable } from '../storage/interface.ts';
import { Appender, type AppenderCapacity } from './appender.ts';
import { TenantChunkQuerier, TenantQuerier, type QuerierDeps } from './querier.ts';
import { SegmentRuns } from './segment-runs.ts';
import { DownsampledQuerier } from './downsampled-querier.ts';
import { NoBucket, SeriesCache, type SeriesEntry } from './series-cache.ts';
import { TableCache } from './table-cache.ts';
import { PageCache } from './page-cache.ts';
import { UlidFactory } from './ulid.ts';
import { GroupCommitter, type GroupCommitOptions } from './group-commit.ts';
import { FreshBuckets } from './fresh-buckets.ts';

export interface StorageOptions {
  bucket: Bucket;
  kv: KVStore;
  /** Series kept in each tenant's write cache. @default 500000 */
  seriesCacheSize?: number;
  /** How long writers trust a looked-up "day not sealed" answer, ms (lib/index/seal-marks.ts). @default 60000 */
  sealCacheMs?: number;
  /** Bytes of decompressed block pages kept, shared by tenants. @default 64 MiB */
  pageCacheBytes?: number;
  /** Bytes of parsed segment tables kept, shared by tenants. @default 256 MiB */
  tableCacheBytes?: number;
  /**
   * Let concurrent commits of a tenant share one segment (one object write,
   * one catalog write; lib/tsdb/group-commit.ts). `stratus serve` turns it
   * on: locally every object write costs a file, an fsync and a folder
   * fsync; in AWS mode every request to S3 or DynamoDB costs SDK CPU and
   * money. Lambda functions leave it off (one request per invocation).
   * @default false
   */
  groupCommit?: boolean | GroupCommitOptions;
  /**
   * Merge runs of segments in memory for reads of recent data
   * (lib/tsdb/segment-runs.ts), kept in the table cache.
   * @default true
   */
  segmentRuns?: boolean;
  /**
   * Keep label-index postings across reads, decoded, checked against each
   * week's postings token (lib/index/label-index.ts). `stratus serve` (both
   * storages) and the Lambda functions turn it on; without it every
   * postings list is a query and a decode per read.
   * @default false
   */
  postingsCache?: boolean | PostingsCacheOptions;
}

/** Prefix of a tenant's object keys. */
export function tenantObjectPrefix(tenant: string): string {
  return `tenants/${tenant}/`;
}

/** Prefix of a tenant's index partition keys. */
export function tenantIndexPrefix(tenant: string): string {
  return `${tenant}/`;
}

/** Builds a SeriesEntry from a canonical label set. */
export function newSeriesEntry(labels: Labels): SeriesEntry {
  const canonical = encodeLabels(labels);
  const id = seriesId(canonical);
  const idBytes = seriesIdFromHex(id);
  let sortKey = 0;
  for (let i = 0; i < 6; i++) sortKey = sortKey * 256 + idBytes[i]!;
  const word = (i: number) => (idBytes[i]! << 24) | (idBytes[i + 1]! << 16) | (idBytes[i + 2]! << 8) | idBytes[i + 3]!;
  return { labels, canonical, id, idBytes, sortKey, w0: word(0), w1: word(4), w2: word(8), w3: word(12), indexed: [], lastIndexed: NoBucket };
}

/** The stores of one tenant (already scoped by its prefixes), for compaction and maintenance. */
export interface TenantStores {
  tenant: string;
  bucket: Bucket;
  kv: KVStore;
  index: LabelIndex;
  catalog: Catalog;
  ulids: UlidFactory;
  /** Sealed-day marks, shared with this process' writers (so marking here is seen at once). */
  seals: SealMarks;
}

/** Partition (unprefixed) listing every tenant that ever committed a write. */
export const TenantsPartition = '_tenants';

/** One tenant's storage. */
export class TenantDB implements Queryable {
  readonly series: SeriesCache;
  readonly stores: TenantStores;
  private readonly deps: QuerierDeps;
  private registered: Promise<void> | undefined;
  /** Shares segments between concurrent commits, when enabled. */
  readonly committer: GroupCommitter | undefined;

  constructor(
    readonly tenant: string,
    bucket: Bucket,
    kv: KVStore,
    tables: TableCache,
    ulids: UlidFactory,
    seriesCacheSize: number,
    private readonly register: () => Promise<void> = async () => {},
    sealCacheMs = 60_000,
    pages?: PageCache,
    groupCommit: boolean | GroupCommitOptions = false,
    runs?: SegmentRuns,
    postingsCache: boolean | PostingsCacheOptions = false,
  ) {
    this.series = new SeriesCache(seriesCacheSize);
    const index = new LabelIndex(kv, { postingsCache });
    const catalog = new Catalog(kv);
    this.stores = { tenant, bucket, kv, index, catalog, ulids, seals: new SealMarks(kv, sealCacheMs) };
    this.deps = { bucket, index, catalog, tables, pages, cacheScope: `${tenant}/`, runs };
    this.committer =
      groupCommit === false
        ? undefined
        : new GroupCommitter(
            { bucket, index, catalog, ulids, seals: this.stores.seals, fresh: groupCommit !== true && groupCommit.soleWriter === true ? new FreshBuckets(kv) : undefined },
            groupCommit === true ? {} : groupCommit,
          );
  }

  /** A new appender; `expected` sizes its buffers (they grow as needed anyway). */
  appender(expected?: AppenderCapacity): Appender {
    return new Appender(
      {
      bucket: this.stores.bucket,
      index: this.deps.index,
      catalog: this.deps.catalog,
      ulids: this.stores.ulids,
      seals: this.stores.seals,
      committer: this.committer,
      beforeCommit: () => {
        // Once per process and tenant; retried after a failure.
        this.registered ??= this.register().catch((e: unknown) => {
          this.registered = undefined;
          throw e;
        });
        return this.registered;
      },
      },
      expected,
    );
  }

  async querier(mint: number, maxt: number): Promise<Querier> {
    return new TenantQuerier(this.deps, mint, maxt);
  }

  async chunkQuerier(mint: number, maxt: number): Promise<ChunkQuerier> {
    return new TenantChunkQuerier(this.deps, mint, maxt);
  }

  /**
   * A querier over downsampled data of `resolution` (lib/block/format.ts
   * Resolution; coarser data first, raw samples where nothing is
   * downsampled), for long ranges. See lib/tsdb/downsampled-querier.ts.
   */
  async downsampledQuerier(resolution: number, mint: number, maxt: number): Promise<DownsampledQuerier> {
    return new DownsampledQuerier(this.deps, resolution, mint, maxt);
  }
}

/** All tenants' storage over one bucket and one index store. */
export class Storage {
  private readonly tenants = new Map<string, TenantDB>();
  private readonly tables: TableCache;
  private readonly pages: PageCache;
  /** Merged runs of segments for reads, unless turned off. */
  readonly runs: SegmentRuns | undefined;
  private readonly ulids = new UlidFactory();

  constructor(private readonly opts: StorageOptions) {
    this.tables = new TableCache(opts.tableCacheBytes);
    this.pages = new PageCache(opts.pageCacheBytes);
    this.runs = opts.segmentRuns === false ? undefined : new SegmentRuns(this.tables);
  }

  /** The database of a tenant (validated; see lib/storage/tenant.ts). */
  tenant(id: string): TenantDB {
    let db = this.tenants.get(id);
    if (db === undefined) {
      validateTenant(id);
      db = new TenantDB(
        id,
        prefixedBucket(this.opts.bucket, tenantObjectPrefix(id)),
        prefixedKVStore(this.opts.kv, tenantIndexPrefix(id)),
        this.tables,
        this.ulids,
        this.opts.seriesCacheSize ?? 500_000,
        () => this.opts.kv.batchPut([{ pk: TenantsPartition, sk: id, value: new Uint8Array([1]) }]),
        this.opts.sealCacheMs,
        this.pages,
        this.opts.groupCommit,
        this.runs,
        this.opts.postingsCache,
      );
      this.tenants.set(id, db);
    }
    return db;
  }

  /** Every tenant that has committed a write, sorted. */
  async tenantIds(): Promise<string[]> {
    const out: string[] = [];
    for await (const it of this.opts.kv.query(TenantsPartition)) out.push(it.sk);
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([this.opts.bucket.close(), this.opts.kv.close()]);
  }
}
