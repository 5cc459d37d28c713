/**
 * Byte-compatibility oracle for the XOR chunk encoding: a real Prometheus
 * (Debian's 2.42) stores crafted series pushed over remote write plus ~10 s
 * of its own metrics, and hands its chunks back over remote read
 * (STREAMED_XOR_CHUNKS). For every chunk we check that
 *   (a) our iterator decodes exactly the samples Prometheus' SAMPLES answer
 *       gives for that series over the chunk's time range, and
 *   (b) our appender re-encodes those samples into identical bytes.
 *
 * Two known differences are allowed, explicitly, and counted:
 * - Prometheus' SAMPLES answer is proto3-encoded by a generator that omits a
 *   double equal to 0, and -0.0 == 0, so a stored -0.0 comes back as +0.0
 *   there. The chunk keeps -0.0, and so do we; where the chunk says -0.0 and
 *   SAMPLES says +0.0 we accept it.
 * - Prometheus 2.x chunks can end in one spare 0x00 byte (see (b) below);
 *   we accept it exactly where it is predicted, nowhere else.
 *
 * Everything else is compared bit for bit, NaN payloads and the stale marker
 * included. The remote-write/read client is protobufjs + snappyjs, not our
 * own codecs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { XORChunk } from '../../lib/chunkenc/index.ts';
import {
  EMPTY_PROMETHEUS_CONFIG,
  exactMatchers,
  type OracleQuery,
  type OracleSample,
  type OracleSeries,
  remoteReadChunks,
  remoteReadSamples,
  remoteWrite,
  requireBinary,
  selfScrapeConfig,
  skipReason,
  startPrometheus,
} from './harness/index.ts';
import { bitsOf, fromBits, STALE } from '../helpers/bits.ts';

const NEG_ZERO = 0x8000000000000000n;
const POS_ZERO = 0n;
const SPECIAL_BITS = [
  STALE,
  0x7ff8000000000badn, // quiet NaN with a payload
  0x7ff00000000000ffn, // signalling NaN with a payload
  0xfff8000000000001n, // negative quiet NaN
  NEG_ZERO,
] as const;

const TWO_HOURS = 2 * 3600 * 1000;

/** Deltas whose delta-of-deltas hit both sides of every bucket edge. */
function dodDeltas(): number[] {
  const d: number[] = [1000, 1000, 1000];
  let cur = 1000;
  const step = (dod: number) => {
    cur += dod;
    d.push(cur);
  };
  for (const [up, down1, up2, down2] of [
    [1, -1, 2, -2],
    [8193, -8191, 8192, -8192],
    [65537, -65535, 65536, -65536],
    [524289, -524287, 524288, -524288],
  ] as const) {
    step(up);
    step(down1);
    step(up2);
    step(down2);
    step(0);
    step(0);
  }
  return d;
}

/** The crafted series, placed inside [now - 50 min, now - 2 s]. */
function craftedSeries(now: number): OracleSeries[] {
  const series: OracleSeries[] = [];
  // The dod series must not straddle a 2 h head-chunk boundary, which would
  // cut a chunk mid-pattern and lose some of the dods we want encoded.
  const deltas = dodDeltas();
  const span = deltas.reduce((a, b) => a + b, 0);
  const boundary = Math.floor(now / TWO_HOURS) * TWO_HOURS;
  const margin = 60_000;
  const dodStart = now - boundary >= span + 2 * margin ? now - span - margin : boundary - span - margin;
  {
    const samples: OracleSample[] = [];
    let t = dodStart;
    samples.push({ t, v: 0 });
    deltas.forEach((d, i) => {
      t += d;
      samples.push({ t, v: i + 1 });
    });
    series.push({ labels: { __name__: 'stratus_e2e_dod', case: 'buckets' }, samples });
  }
  {
    // Special values at a regular 15 s step, each repeated once. They are
    // listed as bit patterns: a number[] would quiet the signalling NaNs.
    const samples: OracleSample[] = [];
    const values = [bitsOf(1), ...SPECIAL_BITS, POS_ZERO, bitsOf(Infinity), bitsOf(-Infinity), 1n, bitsOf(Number.MAX_VALUE), bitsOf(-Number.MAX_VALUE), bitsOf(2.5)];
    let t = now - 20 * 60_000;
    for (const b of values) {
      samples.push({ t, v: fromBits(b) });
      samples.push({ t: t + 15_000, v: fromBits(b) });
      t += 30_000;
    }
    series.push({ labels: { __name__: 'stratus_e2e_special', case: 'values' }, samples });
  }
  {
    const samples: OracleSample[] = [];
    for (let i = 0; i < 200; i++) samples.push({ t: now - 40 * 60_000 + i * 10_000, v: 42 });
    series.push({ labels: { __name__: 'stratus_e2e_const', case: 'constant' }, samples });
  }
  {
    // Many samples: Prometheus cuts several chunks of ~120.
    const samples: OracleSample[] = [];
    let v = 100;
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let i = 0; i < 700; i++) {
      v += (rnd() - 0.5) * 10;
      samples.push({ t: now - 15 * 60_000 + i * 1000, v });
    }
    series.push({ labels: { __name__: 'stratus_e2e_many', case: 'gauge' }, samples });
  }
  {
    const samples: OracleSample[] = [];
    let t = now - 48 * 60_000;
    let c = 0;
    for (let i = 0; i < 400; i++) {
      t += 5000 + ((i * 7919) % 41) - 20;
      c += (i * 31) % 17;
      samples.push({ t, v: c });
    }
    series.push({ labels: { __name__: 'stratus_e2e_counter', case: 'jittered' }, samples });
  }
  // A lone sample: its chunk always ends in Prometheus 2.x's spare byte.
  series.push({ labels: { __name__: 'stratus_e2e_single', case: 'one' }, samples: [{ t: now - 5 * 60_000, v: 3.25 }] });
  return series;
}

interface Tally {
  chunks: number;
  samples: number;
  negZeroFixups: number;
  spareBytes: number;
}

describe('XOR chunks against a real Prometheus', () => {
  it('decodes and re-encodes every chunk Prometheus returns, bit for bit', { timeout: 90_000 }, async (t) => {
    const bin = requireBinary('prometheus');
    if (bin === undefined) {
      t.skip(skipReason('prometheus'));
      return;
    }

    // Prepare: Prometheus scraping itself every second, with remote write on.
    const prom = await startPrometheus({
      binary: bin,
      configYaml: (port) => selfScrapeConfig(port, '1s'),
      extraArgs: ['--web.enable-remote-write-receiver'],
    });
    try {
      const now = Date.now();
      const crafted = craftedSeries(now);
      await remoteWrite(prom.url, crafted);
      await sleep(10_000);
      // Make Prometheus write stale markers itself: a changed job config
      // replaces the scrape loop, and the old loop marks all its series
      // stale about two intervals later (asynchronously, so wait). The new
      // loop drops every scraped metric. Removing the job then stops all
      // writes (a cancelled pool writes no markers), so no chunk changes
      // while we read.
      await prom.reload(
        (port) =>
          selfScrapeConfig(port, '1s') +
          ['    metric_relabel_configs:', '      - source_labels: [__name__]', "        regex: '.+'", '        action: drop', ''].join('\n'),
      );
      await sleep(3000);
      await prom.reload(EMPTY_PROMETHEUS_CONFIG);
      await sleep(500);

      // Act: all chunks, crafted series (query 0) and Prometheus' own (query 1).
      const range = { start: now - TWO_HOURS, end: Date.now() + 60_000 };
      const { contentType, series } = await remoteReadChunks(prom.url, [
        { ...range, matchers: [{ type: 'RE', name: '__name__', value: 'stratus_e2e_.+' }] },
        { ...range, matchers: [{ type: 'EQ', name: 'job', value: 'prometheus' }] },
      ]);
      assert.match(contentType, /application\/x-streamed-protobuf; proto=prometheus\.ChunkedReadResponse/);

      // One SAMPLES query per chunk: that series over that chunk's range.
      const flat = series.flatMap((s) => s.chunks.map((c) => ({ s, c })));
      const queries: OracleQuery[] = flat.map(({ s, c }) => ({ start: c.minT, end: c.maxT, matchers: exactMatchers(s.labels) }));
      const answers = await remoteReadSamples(prom.url, queries);
      assert.equal(answers.length, flat.length);

      // Assess
      const tally: Record<number, Tally> = {
        0: { chunks: 0, samples: 0, negZeroFixups: 0, spareBytes: 0 },
        1: { chunks: 0, samples: 0, negZeroFixups: 0, spareBytes: 0 },
      };
      const seenBits = new Set<bigint>();
      let selfStaleMarkers = 0;
      const chunkCounts = new Map<string, number>();
      const inChunkDods = new Set<number>();
      flat.forEach(({ s, c }, i) => {
        const name = `${JSON.stringify(s.labels)} chunk [${c.minT}, ${c.maxT}]`;
        assert.equal(c.type, 1, `${name}: XOR encoding`);
        const want = answers[i]!;
        assert.equal(want.length, 1, `${name}: one series in the SAMPLES answer`);

        // (a) decode
        const it = XORChunk.fromBytes(c.data).iterator();
        const got: { t: number; bits: bigint }[] = [];
        while (it.next()) got.push({ t: it.atT(), bits: bitsOf(it.atV()) });
        assert.equal(it.err(), null, `${name}: ${String(it.err())}`);
        const ws = want[0]!.samples;
        assert.equal(got.length, ws.length, `${name}: sample count`);
        assert.equal(got[0]!.t, c.minT, `${name}: first timestamp is the chunk's min`);
        assert.equal(got.at(-1)!.t, c.maxT, `${name}: last timestamp is the chunk's max`);
        const tl = tally[s.queryIndex]!;
        for (let k = 0; k < got.length; k++) {
          const g = got[k]!;
          const wb = bitsOf(ws[k]!.v);
          assert.equal(g.t, ws[k]!.t, `${name}: timestamp ${k}`);
          if (g.bits === NEG_ZERO && wb === POS_ZERO) {
            tl.negZeroFixups++; // SAMPLES' proto3 encoder dropped the sign of zero
          } else {
            assert.equal(g.bits.toString(16), wb.toString(16), `${name}: value bits of sample ${k} at ${g.t}`);
          }
          seenBits.add(g.bits);
          if (s.queryIndex === 1 && g.bits === STALE) selfStaleMarkers++;
          if (k >= 2 && s.labels['__name__'] === 'stratus_e2e_dod') {
            inChunkDods.add(g.t - got[k - 1]!.t - (got[k - 1]!.t - got[k - 2]!.t));
          }
        }

        // (b) re-encode. Prometheus 2.x's bstream.writeByte (fixed in 3.0 by
        // prometheus#14854) leaves a spare zero byte after a whole byte
        // written at a byte boundary; a chunk whose last write was such
        // whole bytes (a lone 64-bit first value, or a final value XOR whose
        // significant bits are whole bytes starting on a byte boundary)
        // therefore ends in one extra 0x00. We write the 3.x form. Predict
        // the spare byte exactly from the decoder's final state.
        const ours = new XORChunk();
        const app = ours.appender();
        for (const g of got) app.append(g.t, fromBits(g.bits));
        const sig = 64 - it.leading - it.trailing;
        const lastChanged = got.length >= 2 && got.at(-1)!.bits !== got.at(-2)!.bits;
        const spare = got.length === 1 || (lastChanged && sig % 8 === 0 && (it.pos - sig) % 8 === 0);
        const oursHex = Buffer.from(ours.bytes()).toString('hex');
        assert.equal(Buffer.from(c.data).toString('hex'), spare ? `${oursHex}00` : oursHex, `${name}: re-encoded bytes`);
        if (spare) tl.spareBytes++;

        tl.chunks++;
        tl.samples += got.length;
        const key = s.labels['__name__'] ?? '';
        chunkCounts.set(key, (chunkCounts.get(key) ?? 0) + 1);
      });

      // Nothing passes vacuously.
      for (const s of crafted) assert.ok(chunkCounts.has(s.labels['__name__']!), `chunks of ${s.labels['__name__']}`);
      assert.ok(tally[0]!.chunks >= 8, `crafted chunks compared: ${tally[0]!.chunks}`);
      assert.ok((chunkCounts.get('stratus_e2e_many') ?? 0) >= 4, `stratus_e2e_many chunks: ${chunkCounts.get('stratus_e2e_many')}`);
      assert.ok(tally[1]!.chunks >= 200, `self-scrape chunks compared: ${tally[1]!.chunks}`);
      assert.ok(tally[0]!.spareBytes >= 1, 'the spare-byte prediction was exercised');
      for (const b of SPECIAL_BITS) assert.ok(seenBits.has(b), `value bits ${b.toString(16)} went through Prometheus intact`);
      assert.ok(selfStaleMarkers >= 100, `stale markers Prometheus wrote itself: ${selfStaleMarkers}`);
      for (const dod of [0, 1, -1, 8192, 8193, -8191, -8192, 65536, 65537, -65535, -65536, 524288, 524289, -524287, -524288]) {
        assert.ok(inChunkDods.has(dod), `delta-of-delta ${dod} encoded inside a Prometheus chunk`);
      }
      t.diagnostic(
        `compared ${tally[0]!.chunks} crafted chunks (${tally[0]!.samples} samples) and ${tally[1]!.chunks} self-scrape chunks ` +
          `(${tally[1]!.samples} samples, ${selfStaleMarkers} stale markers); -0.0 read as +0.0 from SAMPLES: ` +
          `${tally[0]!.negZeroFixups + tally[1]!.negZeroFixups}; chunks ending in Prometheus 2.x's spare zero byte: ` +
          `${tally[0]!.spareBytes + tally[1]!.spareBytes}`,
      );
    } catch (e) {
      process.stderr.write(`prometheus log tail:\n${prom.logTail(30)}\n`);
      throw e;
    } finally {
      await prom.stop();
    }
  });
});
