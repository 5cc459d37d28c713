/**
 * `match[]` parsing (the series, labels and federation-style endpoints)
 * against a real Prometheus 2.42: each input goes to GET /api/v1/series;
 * where Prometheus answers `bad_data`, parseMatchersParam must throw the
 * same message (Prometheus prefixes it with `invalid parameter "match[]": `),
 * and where it accepts the input, so must we, with the same matchers
 * (checked by the series Prometheus returns for them on a small TSDB).
 *
 * Inputs: hand-written selector cases plus every query of the PromQL
 * parser corpus, most of which are not lone selectors and must fail with
 * the selector grammar's "unexpected ..." wording, not the expression
 * parser's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseMatchersParam } from '../../lib/api/selectors.ts';
import { parseCorpus } from '../unit/promql/parser/corpus.ts';
import { remoteWrite, requireBinary, skipReason, startPrometheus } from './harness/index.ts';

const PREFIX = 'invalid parameter "match[]": ';

/** Selector inputs beyond the corpus: names, braces, keywords as names, and what may not follow a selector. */
const SELECTORS = [
  'up', 'up{}', '{__name__="up"}', 'up{job="a"}', 'up{job="a",}', 'up{job=~"a|b", instance!="x"}', '{job="a"}',
  '{}', '{a=~""}', '{a!~".*"}', '{a=~".+"}', 'up{a=}', 'up{a="b"', 'up{', 'up}', 'up{}{}', '{a="b"}{c="d"}',
  'up+1', 'up == 1', 'rate(x[5m])', 'up offset 5m', 'up @ 100', 'up[5m]', 'up[5m:1m]', 'sum(up)', 'sum', 'by',
  'offset', 'bool', 'on', 'start', 'end', 'and', 'nan', 'Inf', '1', '-up', '(up)', '"up"', '@', 'up@', 'a:b:c',
  'up # a comment', '  up  ', '', ' ', 'up{a=~"("}', 'up{a="\\xff"}', 'up{a="b" ,c="d"}', 'up{0a="b"}', 'up or up',
  'node_load1{job="node"}', '{__name__=~"node_.+"}', 'up{job="a"} offset 1m', 'up unless', 'avg_over_time',
];

/** A label set as a string, independent of the order of its names. */
function key(l: Record<string, string>): string {
  return JSON.stringify(Object.entries(l).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

describe('match[] selectors vs Prometheus 2.42', () => {
  it('accepts, refuses and matches as Prometheus does', { timeout: 120_000 }, async (t) => {
    const bin = requireBinary('prometheus');
    if (bin === undefined) return void t.skip(skipReason('prometheus'));

    // Prepare: a few series, so accepted selectors can be compared by what they select.
    const prom = await startPrometheus({ binary: bin, extraArgs: ['--web.enable-remote-write-receiver'] });
    try {
      const now = Date.now();
      const stored: Record<string, string>[] = [
        { __name__: 'up', job: 'a', instance: 'x' },
        { __name__: 'up', job: 'b', instance: 'y' },
        { __name__: 'node_load1', job: 'node', instance: 'x' },
        { __name__: 'a:b:c', job: 'a' },
      ];
      await remoteWrite(prom.url, stored.map((labels) => ({ labels, samples: [{ t: now, v: 1 }] })));
      const inputs = [...new Set([...SELECTORS, ...parseCorpus()])];

      // Act
      const failures: string[] = [];
      let refused = 0;
      let accepted = 0;
      for (let i = 0; i < inputs.length; i += 8) {
        await Promise.all(inputs.slice(i, i + 8).map(async (q) => {
          const res = await fetch(`${prom.url}/api/v1/series?start=${now / 1000 - 60}&end=${now / 1000 + 60}&match[]=${encodeURIComponent(q)}`);
          const body = (await res.json()) as { status: string; error?: string; data?: Record<string, string>[] };
          let ours: string[] | Error;
          try {
            const [ms] = parseMatchersParam([q]);
            ours = stored.filter((l) => ms!.every((m) => m.matches(l[m.name] ?? ''))).map(key).sort();
          } catch (err) {
            ours = err as Error;
          }

          // Assess
          if (body.status === 'error') {
            refused++;
            assert.ok(body.error!.startsWith(PREFIX), `unexpected error form: ${body.error}`);
            const want = body.error!.slice(PREFIX.length);
            if (!(ours instanceof Error) || ours.message !== want) {
              failures.push(`${JSON.stringify(q)}\n  prometheus: ${want}\n  ours:       ${ours instanceof Error ? ours.message : 'accepted'}`);
            }
            return;
          }
          accepted++;
          if (ours instanceof Error) failures.push(`${JSON.stringify(q)}\n  prometheus: accepted\n  ours:       ${ours.message}`);
          else assert.deepEqual(ours, body.data!.map(key).sort(), `series selected by ${JSON.stringify(q)}`);
        }));
      }
      console.log(`match[] oracle: ${inputs.length} inputs, ${accepted} accepted, ${refused} refused; ${failures.length} disagreements`);
      assert.ok(accepted >= 15 && refused >= 300, `too few cases on one side: ${accepted} accepted, ${refused} refused`);
      assert.deepEqual(failures, [], `disagreements with Prometheus:\n${failures.join('\n')}`);
    } finally {
      await prom.stop();
    }
  });
});
