/**
 * The label index, written once over the KVStore interface (so it serves
 * LevelDB and DynamoDB alike): per index bucket (a week, lib/index/keys.ts),
 * the series present in it, the postings of each label pair, and the label
 * names and values. Schema in docs/storage-format.md ("Index store").
 *
 * Every `bucket` argument is an index bucket, and any day bucket of the
 * week may stand for it (keys round it down to the week's Monday): a
 * reader holding the catalog's day buckets passes them as they are and
 * gets the series of the whole week, a superset it filters by time
 * through the objects it reads.
 *
 * Crash-safe order: a series' postings, names and values are written before
 * its series record, so a present series record means the series is fully
 * indexed for that bucket (`hasSeriesMany` relies on it).
 */
import { kvGetMany, type KVItem, type KVStore } from '../kvstore/kvstore.ts';
import { decodeLabels } from '../labels/labels.ts';
import type { Labels } from '../labels/labels.ts';
import { matchesEmpty, MatchType, setMatches, type Matcher } from '../labels/matcher.ts';
import { IndexKeys, indexBucketOfDay, isShortened, keyString } from './keys.ts';
import { intersect, merge, without } from './postings.ts';

const Present = new Uint8Array([1]);
const Utf8 = new TextEncoder();
const Utf8Dec = new TextDecoder();

/** What the index is told about one series in one bucket. */
export interface IndexEntry {
  bucket: number;
  id: string;
  labels: Labels;
  /** Canonical label bytes (lib/labels encodeLabels). */
  canonical: Uint8Array;
}

/** Upper bound of parallel point reads one call issues. */
const ReadConcurrency = 32;

/** Series records asked for in one getMany call by select (bounds the values held at once). */
const SeriesReadBatch = 5000;

/** Buckets whose written names/values this process remembers. */
const RememberedBuckets = 4;

const NoBuckets: ReadonlySet<number> = new Set();

export class LabelIndex {
  /**
   * Per bucket, the names (`n:<name>`) and values (`v:<name>=<value>`)
   * items this process has written durably: new series mostly share them,
   * so they are written once per process instead of once per series.
   */
  private readonly written = new Map<number, Set<string>>();

  constructor(private readonly kv: KVStore) {}

  /** Selections under way, by week and matchers: concurrent calls for days of one week share one read. */
  private readonly selecting = new Map<string, Promise<Map<string, Labels>>>();

  private writtenIn(day: number): Set<string> {
    const bucket = indexBucketOfDay(day);
    let set = this.written.get(bucket);
    if (set === undefined) {
      set = new Set();
      this.written.set(bucket, set);
      if (this.written.size > RememberedBuckets) {
        // Forget the bucket furthest from this one (usually the oldest).
        let far = bucket;
        for (const b of this.written.keys()) if (Math.abs(b - bucket) > Math.abs(far - bucket)) far = b;
        this.written.delete(far);
      }
    }
    return set;
  }

  /**
   * Whether the series record of each (bucket, id) exists, in one batched
   * read (DynamoDB: a BatchGetItem per 100 pairs, not a GetItem each).
   */
  async hasSeriesMany(pairs: readonly { bucket: number; id: string }[]): Promise<boolean[]> {
    const values = await kvGetMany(this.kv, pairs.map((p) => ({ pk: IndexKeys.series(p.bucket), sk: p.id })));
    return values.map((v) => v !== undefined);
  }

  /**
   * Indexes series: postings, names and values first, then the series
   * records (the commit point of each). Idempotent. Name and value items
   * this process wrote before are skipped, except in `untrusted` index
   * buckets (sealed weeks, given by their Mondays).
   */
  async add(entries: readonly IndexEntry[], untrusted: ReadonlySet<number> | 'all' = NoBuckets): Promise<void> {
    if (entries.length === 0) return;
    const first = new Map<string, KVItem>();
    const shared: { bucket: number; key: string }[] = [];
    const none = new Set<string>();
    for (const e of entries) {
      // Sealed buckets' items may have been dropped since this process
      // wrote them (lib/index/seal-marks.ts): write them again.
      const written = untrusted === 'all' || untrusted.has(indexBucketOfDay(e.bucket)) ? none : this.writtenIn(e.bucket);
      for (const { name, value } of e.labels) {
        putOnce(first, { pk: IndexKeys.postings(e.bucket, name, value), sk: e.id, value: Present });
        const n = `n:${name}`;
        if (!written.has(n)) {
          const nk = keyString(name);
          if (putOnce(first, { pk: IndexKeys.names(e.bucket), sk: nk, value: isShortened(nk) ? Utf8.encode(name) : Present })) shared.push({ bucket: e.bucket, key: n });
        }
        const v = `v:${name}=${value}`;
        if (!written.has(v)) {
          const vk = keyString(value);
          if (putOnce(first, { pk: IndexKeys.values(e.bucket, name), sk: vk, value: isShortened(vk) ? Utf8.encode(value) : Present })) shared.push({ bucket: e.bucket, key: v });
        }
      }
    }
    await this.kv.batchPut([...first.values()]);
    for (const { bucket, key } of shared) this.writtenIn(bucket).add(key);
    const records = new Map<string, KVItem>();
    for (const e of entries) putOnce(records, { pk: IndexKeys.series(e.bucket), sk: e.id, value: e.canonical });
    await this.kv.batchPut([...records.values()]);
  }

  /** Label names present in a bucket, sorted. */
  async labelNames(bucket: number): Promise<string[]> {
    const out: string[] = [];
    for await (const it of this.kv.query(IndexKeys.names(bucket))) {
      out.push(isShortened(it.sk) ? Utf8Dec.decode(it.value) : it.sk);
    }
    return out;
  }

  /** Values of one label name in a bucket (key order). */
  async labelValues(bucket: number, name: string): Promise<string[]> {
    const out: string[] = [];
    for await (const it of this.kv.query(IndexKeys.values(bucket, name))) {
      out.push(isShortened(it.sk) ? Utf8Dec.decode(it.value) : it.sk);
    }
    return out;
  }

  /** Sorted ids of the series with label pair name=value in a bucket. */
  async postings(bucket: number, name: string, value: string): Promise<string[]> {
    const out: string[] = [];
    for await (const it of this.kv.query(IndexKeys.postings(bucket, name, value))) out.push(it.sk);
    return out;
  }

  /** Every series of a bucket with its labels, in id order. */
  async allSeries(bucket: number): Promise<Map<string, Labels>> {
    const out = new Map<string, Labels>();
    for await (const it of this.kv.query(IndexKeys.series(bucket))) {
      out.set(it.sk, decodeLabels(it.value, 0, it.value.length));
    }
    return out;
  }

  /**
   * The series of a bucket that match every matcher, with their labels.
   * Follows Prometheus' PostingsForMatchers: matchers that match the empty
   * string also select series lacking the label, so they subtract rather
   * than intersect; if every matcher matches empty, start from all series.
   * Calls made while one for the same week and matchers is under way get
   * its answer (the same map: callers must not change it).
   */
  select(bucket: number, matchers: readonly Matcher[]): Promise<Map<string, Labels>> {
    const key = `${indexBucketOfDay(bucket)}\u0000${matchers.map((m) => `${m.type}\u0000${m.name}\u0000${m.value}`).join('\u0000')}`;
    let p = this.selecting.get(key);
    if (p === undefined) {
      p = this.selectOnce(bucket, matchers);
      this.selecting.set(key, p);
      const done = () => this.selecting.delete(key);
      p.then(done, done);
    }
    return p;
  }

  private async selectOnce(bucket: number, matchers: readonly Matcher[]): Promise<Map<string, Labels>> {
    const positive = matchers.filter((m) => !matchesEmpty(m));
    const subtract = matchers.filter((m) => matchesEmpty(m));

    let all: Map<string, Labels> | undefined;
    let ids: string[];
    if (positive.length === 0) {
      all = await this.allSeries(bucket);
      ids = [...all.keys()];
    } else {
      const lists = await Promise.all(positive.map((m) => this.postingsMatching(bucket, m, true)));
      ids = intersect(lists);
    }
    for (const m of subtract) {
      if (ids.length === 0) break;
      // Series that have the label with a value the matcher rejects.
      ids = without(ids, await this.postingsMatching(bucket, m, false));
    }

    const out = new Map<string, Labels>();
    if (all !== undefined) {
      for (const id of ids) out.set(id, all.get(id)!);
      return out;
    }
    const pk = IndexKeys.series(bucket);
    // Batched reads (DynamoDB: BatchGetItems of 100), a bounded slice at a time.
    for (let i = 0; i < ids.length; i += SeriesReadBatch) {
      const batch = ids.slice(i, i + SeriesReadBatch);
      const vals = await kvGetMany(this.kv, batch.map((id) => ({ pk, sk: id })));
      for (let k = 0; k < batch.length; k++) {
        const v = vals[k];
        // A missing record means the series' write did not finish indexing
        // (its segment is then not in the catalog either): skip it.
        if (v !== undefined) out.set(batch[k]!, decodeLabels(v, 0, v.length));
      }
    }
    return out;
  }

  /**
   * Union of postings of the label values `v` of `m.name` for which
   * `m.matches(v) === want`.
   */
  private async postingsMatching(bucket: number, m: Matcher, want: boolean): Promise<string[]> {
    if (want) {
      if (m.type === MatchType.Equal) return this.postings(bucket, m.name, m.value);
      const set = setMatches(m);
      if (set !== undefined) {
        return merge(await Promise.all(set.map((v) => this.postings(bucket, m.name, v))));
      }
    } else if (m.type === MatchType.NotEqual) {
      return this.postings(bucket, m.name, m.value);
    }
    const values = (await this.labelValues(bucket, m.name)).filter((v) => m.matches(v) === want);
    const lists: string[][] = [];
    for (let i = 0; i < values.length; i += ReadConcurrency) {
      lists.push(...(await Promise.all(values.slice(i, i + ReadConcurrency).map((v) => this.postings(bucket, m.name, v)))));
    }
    return merge(lists);
  }
}

/** Adds the item unless one with its key is there; true if added. */
function putOnce(map: Map<string, KVItem>, item: KVItem): boolean {
  const k = `${item.pk}\u0000${item.sk}`;
  if (map.has(k)) return false;
  map.set(k, item);
  return true;
}
