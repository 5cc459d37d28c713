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
 * Postings are written per call, not per series: one item per label pair
 * and call, holding the ids of the call's series with that pair
 * (lib/index/postings-items.ts), so a call indexing 2000 new series writes
 * a few hundred postings items rather than ~10 per series.
 *
 * Crash-safe order: a series' postings, names and values are written before
 * its series record, so a present series record means the series is fully
 * indexed for that bucket (`hasSeriesMany` relies on it).
 *
 * Between the two, each call that wrote postings rewrites its buckets'
 * postings token with new random bytes. Writers index a segment's series
 * before they record the segment in the catalog, so a reader that reads
 * the catalog and then the token sees a token written after the postings
 * of every segment in its catalog. A reader that keeps postings (option
 * `postingsCache`: `stratus serve` in both modes, the Lambda functions)
 * keeps them, decoded, with the token it read before querying them, and reuses them
 * while the token it reads is the same: no postings were written since,
 * so they hold every series of its catalog's segments. A bucket without a
 * token (indexed before tokens existed) is not cached, unless the process
 * is the store's sole writer (local mode): then every write to the store
 * is this code's, which writes a token, so "no token" stays true until a
 * write ends it and stands for a token of its own.
 */
import { randomBytes } from 'node:crypto';
import { kvGetMany, type KVItem, type KVStore } from '../kvstore/kvstore.ts';
import { decodeLabels } from '../labels/labels.ts';
import type { Labels } from '../labels/labels.ts';
import { matchesEmpty, MatchType, setMatches, type Matcher } from '../labels/matcher.ts';
import { IndexKeys, indexBucketOfDay, isShortened, keyString, TokenSk } from './keys.ts';
import { intersectUnions, merge, without } from './postings.ts';
import { commitSk, encodePostingsValues, PostingsUnion } from './postings-items.ts';
import { KnownLabels } from './known-labels.ts';

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

/**
 * Series whose label bytes {@link LabelIndex.seriesLabels} keeps: ~0.4 KB
 * each with the maps' overhead, so ~100 MB at most, beside the compaction
 * function's jobs (up to ~1 GiB of its 1.5 GiB heap). Tenants with more
 * series in a week read the partition again when it misses.
 */
const KnownSeries = 250_000;

/**
 * Series whose decoded labels {@link LabelIndex.select} keeps (~1 KB each):
 * a read of data still in segments then reads no series records for the
 * series it read before (a BatchGetItem per 100 in DynamoDB).
 */
const SelectedSeries = 50_000;

/** Series ids the postings cache holds at most, over all its lists (~60 bytes each). */
const CachedPostingIds = 1_000_000;

export interface LabelIndexOptions {
  /** Keep postings and label values across reads, checked against the bucket's token (see the module comment). @default false */
  postingsCache?: boolean | PostingsCacheOptions;
}

export interface PostingsCacheOptions {
  /** This process alone writes the store (local mode): buckets without a token are cached too. */
  soleWriter: boolean;
}

/** The token that stands for "none" in a store with one writer (hex tokens never equal it). */
const NoToken = 'none';

/** Lists read from the index, each with the token read before it (an LRU bounded by ids held). */
class PostingsCache {
  readonly #lists = new Map<string, { token: string; ids: string[] }>();
  #ids = 0;

  get(key: string, token: string): string[] | undefined {
    const hit = this.#lists.get(key);
    if (hit === undefined || hit.token !== token) return undefined;
    this.#lists.delete(key);
    this.#lists.set(key, hit);
    return hit.ids;
  }

  set(key: string, token: string, ids: string[]): void {
    const old = this.#lists.get(key);
    if (old !== undefined) {
      this.#lists.delete(key);
      this.#ids -= old.ids.length;
    }
    if (ids.length > CachedPostingIds / 4) return;
    this.#lists.set(key, { token, ids });
    this.#ids += ids.length;
    for (const [k, e] of this.#lists) {
      if (this.#ids <= CachedPostingIds) break;
      this.#lists.delete(k);
      this.#ids -= e.ids.length;
    }
  }
}

/** Buckets whose written names/values this process remembers. */
const RememberedBuckets = 4;

const NoBuckets: ReadonlySet<number> = new Set();

/** The `written` keys of a sealed week: none are trusted. */
const NoKeys: ReadonlySet<string> = new Set();

export class LabelIndex {
  /**
   * Per bucket, the names (`n:<name>`) and values (`v:<name>=<value>`)
   * items this process has written durably: new series mostly share them,
   * so they are written once per process instead of once per series.
   */
  private readonly written = new Map<number, Set<string>>();

  /** Label bytes of series read by {@link seriesLabels}, kept across calls. */
  private readonly known = new KnownLabels(KnownSeries);
  /** Decoded labels of series records {@link select} read, kept across calls. */
  private readonly selected = new KnownLabels<Labels>(SelectedSeries);

  /** Postings and label values kept across reads, when enabled. */
  private readonly cache: PostingsCache | undefined;
  /** The token of a bucket that has none: {@link NoToken} for a sole writer, else undefined (not cached). */
  readonly #tokenless: string | undefined;

  constructor(
    private readonly kv: KVStore,
    opts: LabelIndexOptions = {},
  ) {
    const cache = opts.postingsCache ?? false;
    this.cache = cache === false ? undefined : new PostingsCache();
    this.#tokenless = typeof cache === 'object' && cache.soleWriter ? NoToken : undefined;
  }

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
   * records (the commit point of each). Idempotent as reads see it (a
   * repeated call writes its postings items again, under a new sort key,
   * and reads take the union). Name and value items
   * this process wrote before are skipped, except in `untrusted` index
   * buckets (sealed weeks, given by their Mondays).
   */
  async add(entries: readonly IndexEntry[], untrusted: ReadonlySet<number> | 'all' = NoBuckets): Promise<void> {
    if (entries.length === 0) return;
    // Each (week, series) once: its id is then once in each pair's list,
    // and only names and values need checking for repeats. Keys are built once
    // per label name and pair of the call (AddBatch), not once per series.
    const weeks = new Map<number, AddBatch>();
    const taken = new Set<string>();
    const items: KVItem[] = [];
    const records: KVItem[] = [];
    const shared: { bucket: number; key: string }[] = [];
    for (const e of entries) {
      const week = indexBucketOfDay(e.bucket);
      const once = `${week}\u0000${e.id}`;
      if (taken.has(once)) continue;
      taken.add(once);
      let wb = weeks.get(week);
      if (wb === undefined) {
        // Sealed buckets' items may have been dropped since this process
        // wrote them (lib/index/seal-marks.ts): write them again.
        const trusted = untrusted !== 'all' && !untrusted.has(week);
        wb = new AddBatch(week, trusted ? this.writtenIn(week) : NoKeys);
        weeks.set(week, wb);
      }
      wb.addSeries(e, items, shared);
      records.push({ pk: wb.seriesPk, sk: e.id, value: e.canonical });
    }
    const sk = commitSk();
    for (const wb of weeks.values()) wb.postingsItems(sk, items);
    await this.kv.batchPut(items);
    for (const { bucket, key } of shared) this.writtenIn(bucket).add(key);
    // New postings: new tokens, before the series records (see the module comment).
    await this.kv.batchPut([...weeks.keys()].map((week) => ({ pk: IndexKeys.token(week), sk: TokenSk, value: randomBytes(12) })));
    await this.kv.batchPut(records);
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
    return this.labelValuesAt(bucket, name, undefined);
  }

  /** The bucket's postings token (hex), or undefined when caching is off or the bucket has none. */
  private async tokenOf(bucket: number): Promise<string | undefined> {
    if (this.cache === undefined) return undefined;
    const v = await this.kv.get(IndexKeys.token(bucket), TokenSk);
    return v === undefined ? this.#tokenless : Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  }

  /** labelValues, through the cache when `token` is given. The answer must not be changed. */
  private async labelValuesAt(bucket: number, name: string, token: string | undefined): Promise<string[]> {
    return this.through(`${indexBucketOfDay(bucket)}\u0000v\u0000${name}`, token, async () => {
      const out: string[] = [];
      for await (const it of this.kv.query(IndexKeys.values(bucket, name))) {
        out.push(isShortened(it.sk) ? Utf8Dec.decode(it.value) : it.sk);
      }
      return out;
    });
  }

  /** Sorted ids of the series with label pair name=value in a bucket. */
  async postings(bucket: number, name: string, value: string): Promise<string[]> {
    return this.postingsAt(bucket, name, value, undefined);
  }

  /** postings, through the cache when `token` is given. The answer must not be changed. */
  private async postingsAt(bucket: number, name: string, value: string, token: string | undefined): Promise<string[]> {
    const pk = IndexKeys.postings(bucket, name, value);
    return this.through(pk, token, async () => {
      const union = new PostingsUnion();
      for await (const it of this.kv.query(pk)) union.add(it.sk, it.value);
      return union.ids();
    });
  }

  /** `load()`, kept under `key` with `token` when the cache is on and a token was read. */
  private async through(key: string, token: string | undefined, load: () => Promise<string[]>): Promise<string[]> {
    if (token === undefined || this.cache === undefined) return load();
    const hit = this.cache.get(key, token);
    if (hit !== undefined) return hit;
    const list = await load();
    this.cache.set(key, token, list);
    return list;
  }

  /**
   * The canonical label bytes of series `ids` in a bucket, for those with
   * a series record (others are absent from the result). Answers come from
   * a cache kept across calls (a series id never changes labels): the
   * compactor asks for nearly the same series every run, and reading the
   * week's series partition each time cost a strongly consistent read of
   * every series record per 10-min job. A miss of many ids (or a first
   * call) reads the partition once; a few misses are point reads.
   */
  async seriesLabels(bucket: number, ids: readonly string[]): Promise<Map<string, Uint8Array>> {
    const week = indexBucketOfDay(bucket);
    const cachedSize = this.known.week(week).size;
    // Found labels go to the answer directly: the cache may drop entries as it fills (its bound).
    const { found, missing } = this.known.lookup(week, ids);
    if (missing.length > 0 && (cachedSize === 0 || missing.length > Math.max(100, cachedSize / 10))) {
      const want = new Set(missing);
      for await (const it of this.kv.query(IndexKeys.series(week))) {
        this.known.set(week, it.sk, it.value);
        if (want.has(it.sk)) found.set(it.sk, it.value);
      }
    } else if (missing.length > 0) {
      const pk = IndexKeys.series(week);
      const vals = await kvGetMany(this.kv, missing.map((sk) => ({ pk, sk })));
      for (let i = 0; i < missing.length; i++) {
        const v = vals[i];
        if (v === undefined) continue;
        this.known.set(week, missing[i]!, v);
        found.set(missing[i]!, v);
      }
    }
    return found;
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
   *
   * Each call reads for itself: calls never share a select under way. One
   * begun before a write was acknowledged may have read the postings (or
   * the token) before the write's, and a call begun after the
   * acknowledgement that took its answer would miss the write's new series
   * (test/unit/index/postings-cache.test.ts, "selects under way").
   */
  async select(bucket: number, matchers: readonly Matcher[]): Promise<Map<string, Labels>> {
    const positive = matchers.filter((m) => !matchesEmpty(m));
    const subtract = matchers.filter((m) => matchesEmpty(m));

    // Read before any postings: lists kept with it hold everything written before it.
    const token = await this.tokenOf(bucket);
    let all: Map<string, Labels> | undefined;
    let ids: string[];
    if (positive.length === 0) {
      all = await this.allSeries(bucket);
      ids = [...all.keys()];
    } else {
      ids = intersectUnions(await Promise.all(positive.map((m) => this.postingsMatching(bucket, m, true, token))));
    }
    for (const m of subtract) {
      if (ids.length === 0) break;
      // Series that have the label with a value the matcher rejects.
      ids = without(ids, merge(await this.postingsMatching(bucket, m, false, token)));
    }

    const out = new Map<string, Labels>();
    if (all !== undefined) {
      for (const id of ids) out.set(id, all.get(id)!);
      return out;
    }
    const pk = IndexKeys.series(bucket);
    // Series records read before come from the cache ({@link KnownLabels}: an id never changes labels).
    const week = indexBucketOfDay(bucket);
    const { found, missing: unknown } = this.selected.lookup(week, ids);
    // Batched reads (DynamoDB: BatchGetItems of 100), a bounded slice at a time.
    for (let i = 0; i < unknown.length; i += SeriesReadBatch) {
      const batch = unknown.slice(i, i + SeriesReadBatch);
      const vals = await kvGetMany(this.kv, batch.map((id) => ({ pk, sk: id })));
      for (let k = 0; k < batch.length; k++) {
        const v = vals[k];
        // A missing record means the series' write did not finish indexing
        // (its segment is then not in the catalog either): skip it.
        if (v === undefined) continue;
        const ls = decodeLabels(v, 0, v.length);
        this.selected.set(week, batch[k]!, ls);
        found.set(batch[k]!, ls);
      }
    }
    for (const id of ids) {
      const ls = found.get(id);
      if (ls !== undefined) out.set(id, ls);
    }
    return out;
  }

  /**
   * The postings of the label values `v` of `m.name` for which
   * `m.matches(v) === want`, a list per value (their union is the answer).
   */
  private async postingsMatching(bucket: number, m: Matcher, want: boolean, token: string | undefined): Promise<string[][]> {
    if (want) {
      if (m.type === MatchType.Equal) return [await this.postingsAt(bucket, m.name, m.value, token)];
      const set = setMatches(m);
      if (set !== undefined) return Promise.all(set.map((v) => this.postingsAt(bucket, m.name, v, token)));
    } else if (m.type === MatchType.NotEqual) {
      return [await this.postingsAt(bucket, m.name, m.value, token)];
    }
    const values = (await this.labelValuesAt(bucket, m.name, token)).filter((v) => m.matches(v) === want);
    const lists: string[][] = [];
    for (let i = 0; i < values.length; i += ReadConcurrency) {
      lists.push(...(await Promise.all(values.slice(i, i + ReadConcurrency).map((v) => this.postingsAt(bucket, m.name, v, token)))));
    }
    return lists;
  }
}

/** The keys of one label name in one week, as {@link AddBatch} builds them. */
interface NameKeys {
  /** `n:<name>`: the name's entry in `LabelIndex.written`. */
  readonly n: string;
  readonly pairs: Map<string, PairKeys>;
}

/** The keys of one label pair in one week, and the call's series with it. */
interface PairKeys {
  /** Partition of the pair's postings. */
  readonly postings: string;
  /** `v:<name>=<value>`: the value's entry in `LabelIndex.written`. */
  readonly v: string;
  /** Ids of the call's series with this pair, in call order. */
  readonly ids: string[];
}

/**
 * The items of one `LabelIndex.add` call in one index bucket (week), with
 * the keys of each label name and pair built once per call: series mostly
 * share their pairs (job, instance, ...), and the keys are the same strings
 * {@link IndexKeys} makes.
 */
class AddBatch {
  readonly seriesPk: string;
  readonly #namesPk: string;
  readonly #names = new Map<string, NameKeys>();
  /** `n:`/`v:` keys whose items this call already holds. */
  readonly #queued = new Set<string>();

  constructor(
    readonly week: number,
    /** Name and value keys written before (empty for a sealed week). */
    private readonly written: ReadonlySet<string>,
  ) {
    this.seriesPk = IndexKeys.series(week);
    this.#namesPk = IndexKeys.names(week);
  }

  /** Appends the call's postings items to `items`: per label pair, its series' ids under sort key `sk` (lib/index/postings-items.ts). */
  postingsItems(sk: string, items: KVItem[]): void {
    for (const nk of this.#names.values()) {
      for (const pk of nk.pairs.values()) {
        const values = encodePostingsValues(pk.ids.sort());
        for (let i = 0; i < values.length; i++) items.push({ pk: pk.postings, sk: i === 0 ? sk : `${sk}.${i}`, value: values[i]! });
      }
    }
  }

  /** Notes `e` in the postings of its label pairs, and appends the names and values not written yet to `items`. */
  addSeries(e: IndexEntry, items: KVItem[], shared: { bucket: number; key: string }[]): void {
    const labels = e.labels;
    for (let i = 0; i < labels.length; i++) {
      const { name, value } = labels[i]!;
      let nk = this.#names.get(name);
      if (nk === undefined) {
        nk = { n: `n:${name}`, pairs: new Map() };
        this.#names.set(name, nk);
      }
      let pk = nk.pairs.get(value);
      if (pk === undefined) {
        pk = { postings: IndexKeys.postings(this.week, name, value), v: `v:${name}=${value}`, ids: [] };
        nk.pairs.set(value, pk);
      }
      pk.ids.push(e.id);
      if (this.#wanted(nk.n)) {
        const sk = keyString(name);
        items.push({ pk: this.#namesPk, sk, value: isShortened(sk) ? Utf8.encode(name) : Present });
        shared.push({ bucket: this.week, key: nk.n });
      }
      if (this.#wanted(pk.v)) {
        const sk = keyString(value);
        items.push({ pk: IndexKeys.values(this.week, name), sk, value: isShortened(sk) ? Utf8.encode(value) : Present });
        shared.push({ bucket: this.week, key: pk.v });
      }
    }
  }

  /** Whether the name or value item `key` is neither written before nor queued (it then is). */
  #wanted(key: string): boolean {
    if (this.written.has(key) || this.#queued.has(key)) return false;
    this.#queued.add(key);
    return true;
  }
}
