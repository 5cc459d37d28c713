/**
 * The PromQL parser against a real Prometheus 2.42 as the oracle.
 *
 * 1. Every query of the corpus (test/unit/promql/parser/corpus.ts, over a
 *    thousand, generated per function / aggregation / operator plus
 *    hand-written syntax cases) goes to GET /api/v1/query. Where Prometheus
 *    answers `bad_data`, parseExpr must throw a ParseError with the same
 *    message (Prometheus prefixes it with `invalid parameter "query": `);
 *    where it accepts the query, parseExpr must accept it too.
 * 2. Every accepted query becomes a recording rule; /api/v1/rules then
 *    shows Prometheus' `String()` of it, which exprToString must equal.
 *
 * ALLOWED_MISMATCHES lists syntax errors whose wording we knowingly do not
 * reproduce; it is empty because every corpus query currently matches.
 * PRINT_ALLOWED lists the printed forms we knowingly differ on.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { ParseError } from '../../lib/promql/errors.ts';
import { exprToString, parseExpr } from '../../lib/promql/parser/index.ts';
import { parseCorpus } from '../unit/promql/parser/corpus.ts';
import { requireBinary, skipReason, startPrometheus } from './harness/index.ts';

/** Queries whose syntax-error text may differ (with the reason). None so far. */
const ALLOWED_MISMATCHES: ReadonlyMap<string, string> = new Map();

/**
 * Printed forms that differ on purpose: Go strings may hold bytes that are
 * not UTF-8 (from `\xff` escapes) and Prometheus prints them back as `\xff`;
 * our strings are Unicode, so such a byte becomes U+FFFD when unquoted.
 */
const PRINT_ALLOWED: ReadonlySet<string> = new Set(['foo{a="\\xff"}', '"\\xffabc"']);

const PREFIX = 'invalid parameter "query": ';

type Verdict = { ok: true } | { ok: false; message: string };

function ours(q: string): Verdict {
  try {
    parseExpr(q);
    return { ok: true };
  } catch (err) {
    assert.ok(err instanceof ParseError, `parseExpr(${JSON.stringify(q)}) threw a non-ParseError: ${String(err)}`);
    return { ok: false, message: err.message };
  }
}

async function theirs(url: string, q: string): Promise<Verdict> {
  const res = await fetch(`${url}/api/v1/query?time=0&query=${encodeURIComponent(q)}`);
  const body = (await res.json()) as { status: string; errorType?: string; error?: string };
  if (body.status === 'error' && body.errorType === 'bad_data') {
    assert.ok(body.error!.startsWith(PREFIX), `unexpected error form: ${body.error}`);
    return { ok: false, message: body.error!.slice(PREFIX.length) };
  }
  // Parsed; evaluation errors (e.g. on an empty TSDB) do not concern the parser.
  return { ok: true };
}

/** Runs `fn` over `items` with at most `n` in flight. */
async function pool<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

describe('PromQL parser vs Prometheus 2.42', () => {
  it('agrees on acceptance, error messages and printed form', { timeout: 180_000 }, async (t) => {
    const bin = requireBinary('prometheus');
    if (bin === undefined) return void t.skip(skipReason('prometheus'));

    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'stratus-parse-oracle-'));
    const rulesFile = join(dir, 'rules.yml');
    await writeFile(rulesFile, 'groups: []\n');
    const config = `global:\n  scrape_interval: 15s\n  evaluation_interval: 1h\nrule_files: [${JSON.stringify(rulesFile)}]\n`;
    const prom = await startPrometheus({ binary: bin, configYaml: config });
    try {
      const queries = parseCorpus();
      assert.ok(queries.length >= 300, `corpus too small: ${queries.length}`);

      // Act
      const answers = await pool(queries, 6, (q) => theirs(prom.url, q));

      // Assess
      let exact = 0;
      let accepted = 0;
      const allowed: string[] = [];
      const failures: string[] = [];
      queries.forEach((q, i) => {
        const want = answers[i];
        const got = ours(q);
        if (want.ok && got.ok) {
          exact++;
          accepted++;
        } else if (!want.ok && !got.ok && want.message === got.message) {
          exact++;
        } else if (!want.ok && !got.ok && ALLOWED_MISMATCHES.has(q)) {
          allowed.push(q);
        } else {
          failures.push(`${JSON.stringify(q)}\n  prometheus: ${want.ok ? 'accepted' : want.message}\n  ours:       ${got.ok ? 'accepted' : got.message}`);
        }
      });
      console.log(
        `parse oracle: ${exact}/${queries.length} agree exactly (${accepted} accepted, ${exact - accepted} identical errors), ` +
          `${allowed.length} allow-listed wording differences, ${failures.length} disagreements`,
      );
      assert.deepEqual(failures, [], `disagreements with Prometheus:\n${failures.join('\n')}`);

      // Printed form: every accepted query as a recording rule.
      const valid = queries.filter((_, i) => answers[i].ok);
      const rules = valid.map((q, i) => `  - record: r${i}\n    expr: ${JSON.stringify(q)}\n`).join('');
      await writeFile(rulesFile, `groups:\n- name: parse_oracle\n  rules:\n${rules}`);
      await prom.reload(config);
      const res = (await (await fetch(`${prom.url}/api/v1/rules`)).json()) as {
        data: { groups: { rules: { name: string; query: string }[] }[] };
      };
      const printed = new Map(res.data.groups.flatMap((g) => g.rules.map((r) => [r.name, r.query] as const)));
      const printFailures: string[] = [];
      valid.forEach((q, i) => {
        const want = printed.get(`r${i}`);
        const got = exprToString(parseExpr(q));
        if (want !== got && !PRINT_ALLOWED.has(q)) printFailures.push(`${JSON.stringify(q)}\n  prometheus: ${want}\n  ours:       ${got}`);
      });
      console.log(
        `printer oracle: ${valid.length - printFailures.length - PRINT_ALLOWED.size}/${valid.length} printed identically, ` +
          `${PRINT_ALLOWED.size} allow-listed (non-UTF-8 bytes)`,
      );
      assert.deepEqual(printFailures, [], `printing differs:\n${printFailures.join('\n')}`);
    } finally {
      await prom.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
