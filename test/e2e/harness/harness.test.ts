import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';

import { requireBinary, skipReason, startAlertmanager, startNodeExporter, startProcess, startPrometheus } from './index.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('e2e harness', () => {
  it('runs node_exporter on loopback and stops it by PID, removing its directory', { timeout: 30_000 }, async (t) => {
    const bin = requireBinary('prometheus-node-exporter');
    if (bin === undefined) return void t.skip(skipReason('prometheus-node-exporter'));
    const ne = await startNodeExporter({ binary: bin });
    try {
      assert.match(ne.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const text = await (await fetch(`${ne.url}/metrics`)).text();
      assert.match(text, /^node_exporter_build_info\{/m);
    } finally {
      await ne.stop();
    }
    assert.equal(alive(ne.pid), false);
    assert.equal(existsSync(ne.dir), false);
  });

  it('runs Alertmanager with clustering off', { timeout: 30_000 }, async (t) => {
    const bin = requireBinary('prometheus-alertmanager');
    if (bin === undefined) return void t.skip(skipReason('prometheus-alertmanager'));
    const am = await startAlertmanager({ binary: bin });
    try {
      const res = await fetch(`${am.url}/api/v2/status`);
      assert.equal(res.status, 200);
      const status = (await res.json()) as { cluster?: { status?: string } };
      assert.equal(status.cluster?.status, 'disabled');
    } finally {
      await am.stop();
    }
    assert.equal(alive(am.pid), false);
  });

  it('reports a process that exits before it is ready, with its log', { timeout: 30_000 }, async (t) => {
    const bin = requireBinary('prometheus');
    if (bin === undefined) return void t.skip(skipReason('prometheus'));
    await assert.rejects(
      startPrometheus({ binary: bin, configYaml: 'scrape_configs: [ this is not valid' }),
      (e: Error) => /exited before becoming ready/.test(e.message) && /config/i.test(e.message),
    );
  });

  it('reports a binary that cannot be started', async () => {
    await assert.rejects(
      startProcess({ name: 'nothing', binary: '/nonexistent/stratus-e2e', args: () => [], readyPath: '/', readyTimeoutMs: 2000 }),
      /nothing/,
    );
  });
});
