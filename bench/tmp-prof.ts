import { decodeWriteRequest, encodeWriteRequest } from '../lib/prompb/write-v1.ts';
import type { WriteRequestColumns } from '../lib/prompb/write-v1.ts';
const series = [];
for (let i = 0; i < 2000; i++) {
  const labels = [['__name__', 'node_cpu_seconds_total'], ['cluster', 'prod-eu-1'], ['cpu', String(i % 16)], ['datacenter', 'dub1'], ['env', 'production'], ['instance', `node-${i >> 6}.example.internal:9100`], ['job', 'node'], ['mode', 'idle'], ['region', 'eu-west-1'], ['replica', 'prometheus-0'], ['team', 'infra']].map(([name, value]) => ({ name: name!, value: value! }));
  series.push({ labels, timestamps: [1700000000000 + i], values: new Float64Array([i]) });
}
const pb = encodeWriteRequest(series);
let prev: WriteRequestColumns | undefined;
const t0 = Date.now();
while (Date.now() - t0 < 6000) prev = decodeWriteRequest(pb, prev);
