/**
 * Proves our PromQL test scripts (test/testdata/promql/*.test) right: every
 * script runs against a real Prometheus (Debian's 2.42), loaded by
 * remote_write and queried over its HTTP API. Whatever a script expects is
 * thus what Prometheus answers; the same scripts then judge our engine
 * (test/unit/promql/promqltest.test.ts).
 *
 * Prometheus runs with a large out-of-order window (later `load` blocks may
 * go back in time), a 100-year retention (the data sit in 1970), and is
 * restarted on a fresh directory for each script and each `clear`.
 *
 * PROMQLTEST_FILES=a.test,b.test limits the run to some scripts.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary, remoteWrite, skipReason, startPrometheus, type PrometheusProcess } from './harness/index.ts';
import { formatFailures, HttpTarget, parseScript, runScript, type TargetSeries } from '../../lib/promql/promqltest/index.ts';

const Dir = join(import.meta.dirname, '../testdata/promql');
const only = process.env['PROMQLTEST_FILES']?.split(',');
const files = readdirSync(Dir)
  .filter((f) => f.endsWith('.test') && (only === undefined || only.includes(f)))
  .sort();

const Config = ['global:', '  scrape_interval: 15s', '  evaluation_interval: 1m', 'storage:', '  tsdb:', '    out_of_order_time_window: 100y', ''].join('\n');

/** Remote-writes series in requests of a bounded size. */
async function writeAll(url: string, series: TargetSeries[]): Promise<void> {
  const batch: { labels: Record<string, string>; samples: { t: number; v: number }[] }[] = [];
  let n = 0;
  const flush = async () => {
    if (batch.length > 0) await remoteWrite(url, batch.splice(0));
    n = 0;
  };
  for (const s of series) {
    const labels: Record<string, string> = {};
    for (const l of s.labels) labels[l.name] = l.value;
    // Points are objects: the stale marker's NaN bits survive.
    batch.push({ labels, samples: s.points.map((p) => ({ t: p.t, v: p.v })) });
    n += s.points.length;
    if (n > 20_000) await flush();
  }
  await flush();
}

describe('promqltest scripts against a real Prometheus 2.42 (the oracle)', () => {
  let prom: PrometheusProcess | undefined;
  const start = async () => {
    await prom?.stop();
    prom = await startPrometheus({
      configYaml: Config,
      extraArgs: ['--web.enable-remote-write-receiver', '--storage.tsdb.retention.time=100y', '--query.lookback-delta=5m'],
    });
  };
  const totals = { evals: 0, passed: 0 };
  after(async () => {
    await prom?.stop();
    process.stdout.write(`\n*** promqltest oracle: ${totals.passed} of ${totals.evals} evals passed against Prometheus 2.42 (${files.length} scripts) ***\n\n`);
  });

  it('has scripts to run', () => {
    assert.ok(files.length > 0, `no .test files in ${Dir}`);
  });

  for (const file of files) {
    it(file, { timeout: 600_000 }, async (t) => {
      if (!requireBinary('prometheus')) return t.skip(skipReason('prometheus'));
      // Prepare
      const cmds = parseScript(readFileSync(join(Dir, file), 'utf8'));
      const target = new HttpTarget({ url: () => prom!.url, write: (s) => writeAll(prom!.url, s), reset: start });
      // Act
      const res = await runScript(target, cmds);
      totals.evals += res.evals;
      totals.passed += res.passed;
      process.stdout.write(`# ${file}: ${res.passed}/${res.evals} evals passed\n`);
      // Assess
      assert.ok(res.evals > 0, `${file} has no eval commands`);
      assert.equal(res.failures.length, 0, `Prometheus disagrees with ${file}:\n${formatFailures(file, res.failures)}`);
    });
  }
});
