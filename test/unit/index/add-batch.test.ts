/**
 * LabelIndex.add builds the keys of each label name and pair once per call
 * and skips the per-item dedup map for postings (lib/index/label-index.ts,
 * AddBatch). These tests compare every item it writes, call after call,
 * with a brute-force model of the index schema (one postings item per
 * label pair and call holding its series' ids, names and values once per
 * week and process, a new postings token
 * per week written, series records in a third batch): entries repeated within a call, several days of one week
 * and two weeks in one call, shared and unique pairs, shortened keys, and
 * sealed (untrusted) weeks. A wrong cached key, a dropped or doubled item or
 * a name written twice makes them fail.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemKVStore } from '../../../lib/kvstore/mem.ts';
import type { KVItem } from '../../../lib/kvstore/kvstore.ts';
import { IndexKeys, indexBucketOfDay, isShortened, keyString } from '../../../lib/index/keys.ts';
import { LabelIndex, type IndexEntry } from '../../../lib/index/label-index.ts';
import { newSeriesEntry } from '../../../lib/tsdb/db.ts';
import { labelsFromPairs } from '../../../lib/labels/labels.ts';
import { prng } from '../../helpers/prng.ts';

const enc = new TextEncoder();
const Present = '01';
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A MemKVStore that records each batchPut as `pk \0 sk -> value hex`. */
class Recording extends MemKVStore {
  readonly batches: Map<string, string>[] = [];
  override async batchPut(items: readonly KVItem[]): Promise<void> {
    const m = new Map<string, string>();
    for (const it of items) m.set(`${it.pk}\u0000${it.sk}`, hex(it.value));
    assert.equal(m.size, items.length, 'an item twice in one batch');
    this.batches.push(m);
    await super.batchPut(items);
  }
}

/** The model: what add writes given the names/values each week already holds in this process. */
function expected(
  entries: readonly IndexEntry[],
  written: Map<number, Set<string>>,
  untrusted: ReadonlySet<number>,
): { items: Map<string, string>; postings: Map<string, string>; records: Map<string, string> } {
  const items = new Map<string, string>();
  /** Per postings partition, the ids of the call's series with its pair. */
  const postings = new Map<string, Set<string>>();
  const records = new Map<string, string>();
  for (const e of entries) {
    const week = indexBucketOfDay(e.bucket);
    const w = untrusted.has(week) ? new Set<string>() : (written.get(week) ?? new Set<string>());
    for (const { name, value } of e.labels) {
      const pk = IndexKeys.postings(week, name, value);
      let ids = postings.get(pk);
      if (ids === undefined) postings.set(pk, (ids = new Set()));
      ids.add(e.id);
      const nk = keyString(name);
      if (!w.has(`n:${name}`)) items.set(`${IndexKeys.names(week)}\u0000${nk}`, isShortened(nk) ? hex(enc.encode(name)) : Present);
      const vk = keyString(value);
      if (!w.has(`v:${name}=${value}`)) items.set(`${IndexKeys.values(week, name)}\u0000${vk}`, isShortened(vk) ? hex(enc.encode(value)) : Present);
    }
    records.set(`${IndexKeys.series(week)}\u0000${e.id}`, hex(e.canonical));
  }
  // What the process then remembers (sealed weeks too: they are bypassed, not forgotten).
  for (const e of entries) {
    const week = indexBucketOfDay(e.bucket);
    let w = written.get(week);
    if (w === undefined) written.set(week, (w = new Set()));
    for (const { name, value } of e.labels) {
      w.add(`n:${name}`);
      w.add(`v:${name}=${value}`);
    }
  }
  // One postings item per pair: tag 02 and the ids ascending (lib/index/postings-items.ts).
  const packed = new Map([...postings].map(([pk, ids]) => [pk, `02${[...ids].sort().join('')}`]));
  return { items, postings: packed, records };
}

/** A batch split into its postings items (by partition, with their one sort key) and the rest. */
function splitPostings(batch: Map<string, string>): { sks: Set<string>; postings: Map<string, string>; rest: Map<string, string> } {
  const sks = new Set<string>();
  const postings = new Map<string, string>();
  const rest = new Map<string, string>();
  for (const [key, value] of batch) {
    const [pk, sk] = key.split('\u0000') as [string, string];
    if (!pk.includes('/p/')) {
      rest.set(key, value);
      continue;
    }
    sks.add(sk);
    assert.ok(!postings.has(pk), `${pk}: two postings items in one call`);
    postings.set(pk, value);
  }
  return { sks, postings, rest };
}

/** Monday 2024-10-07 (day 20003) and the Monday after. */
const Mon = 20_003;
const NextMon = Mon + 7;

function series(rnd: () => number, i: number): IndexEntry & { day: number } {
  const pairs: Record<string, string> = {
    __name__: `metric_${Math.floor(rnd() * 5)}`,
    job: 'node',
    instance: `host-${Math.floor(rnd() * 4)}:9100`,
    series: String(i),
  };
  if (rnd() < 0.2) pairs.mode = ['idle', 'user'][Math.floor(rnd() * 2)]!;
  // Long and U+0001 values are stored shortened, their full text in the value.
  if (rnd() < 0.05) pairs.long = 'x'.repeat(600) + String(i % 3);
  if (rnd() < 0.05) pairs.odd = `a\u0001${i % 2}`;
  const s = newSeriesEntry(labelsFromPairs(pairs));
  const day = [Mon, Mon + 3, Mon + 6, NextMon + 1][Math.floor(rnd() * 4)]!;
  return { bucket: day, day, id: s.id, labels: s.labels, canonical: s.canonical };
}

describe('LabelIndex.add writes exactly the schema items', () => {
  const cases: { name: string; seed: number; calls: number; perCall: number; untrusted: number[] }[] = [
    { name: 'shared and unique pairs, two weeks, repeats', seed: 1, calls: 4, perCall: 120, untrusted: [] },
    { name: 'the same with the second week sealed (untrusted)', seed: 2, calls: 3, perCall: 90, untrusted: [NextMon] },
    { name: 'small calls, many repeats across calls', seed: 3, calls: 12, perCall: 8, untrusted: [] },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      // Prepare: entries drawn from a pool, so that calls repeat series
      // (the same id on another day of its week, or again in one call).
      const rnd = prng(c.seed);
      const pool = Array.from({ length: c.perCall }, (_, i) => series(rnd, i));
      const kv = new Recording();
      const index = new LabelIndex(kv);
      const written = new Map<number, Set<string>>();
      const untrusted = new Set(c.untrusted);
      const sortKeys = new Set<string>();
      for (let call = 0; call < c.calls; call++) {
        const entries: IndexEntry[] = [];
        for (let k = 0; k < c.perCall; k++) {
          const s = pool[Math.floor(rnd() * pool.length)]!;
          const day = [Mon, Mon + 2, NextMon + 3][Math.floor(rnd() * 3)]!;
          entries.push({ ...s, bucket: rnd() < 0.5 ? s.day : day });
        }
        const want = expected(entries, written, untrusted);

        // Act
        const before = kv.batches.length;
        await index.add(entries, untrusted);

        // Assess: postings, names and values first, then new postings tokens of the weeks written, then the series records.
        assert.equal(kv.batches.length - before, 3, `call ${call}: three batches`);
        const got = splitPostings(kv.batches[before]!);
        assert.deepEqual(new Map([...got.rest].sort()), new Map([...want.items].sort()), `call ${call}: names, values`);
        assert.deepEqual(new Map([...got.postings].sort()), new Map([...want.postings].sort()), `call ${call}: postings`);
        assert.equal(got.sks.size, 1, `call ${call}: one sort key for the call's postings items`);
        assert.match([...got.sks][0]!, /^@[0-9a-z]+\.[0-9a-f]{16}$/);
        assert.ok(!sortKeys.has([...got.sks][0]!), 'a new sort key per call');
        sortKeys.add([...got.sks][0]!);
        const weeks = [...new Set(entries.map((e) => indexBucketOfDay(e.bucket)))].sort();
        assert.deepEqual([...kv.batches[before + 1]!.keys()].sort(), weeks.map((w) => `${IndexKeys.token(w)}\u0000v`).sort(), `call ${call}: tokens`);
        for (const v of kv.batches[before + 1]!.values()) assert.equal(v.length, 24, 'a token of 12 random bytes');
        assert.deepEqual(new Map([...kv.batches[before + 2]!].sort()), new Map([...want.records].sort()), `call ${call}: series records`);
      }
    });
  }

  it("writes every name and value again with untrusted 'all'", async () => {
    // Prepare
    const kv = new Recording();
    const index = new LabelIndex(kv);
    const s = newSeriesEntry(labelsFromPairs({ __name__: 'up', job: 'x' }));
    const e: IndexEntry = { bucket: Mon, id: s.id, labels: s.labels, canonical: s.canonical };
    await index.add([e]);

    // Act
    await index.add([e, { ...e, bucket: Mon + 1 }], 'all');

    // Assess: 2 postings + 2 names + 2 values, once each although given twice (the postings with the id once).
    assert.equal(kv.batches[3]!.size, 6);
    assert.equal(kv.batches[3]!.get(`${[...kv.batches[3]!.keys()].find((k) => k.startsWith(IndexKeys.postings(Mon, 'job', 'x')))}`), `02${s.id}`);
    assert.equal(kv.batches[4]!.size, 1, 'one token: one week');
    assert.equal(kv.batches[5]!.size, 1);
  });
});
