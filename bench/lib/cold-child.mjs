// One Lambda "execution environment" of the cold-start benchmark (bench/cold-start.ts):
// `node [NODE_OPTIONS of the function] cold-child.mjs <bundle> <events.json> <result.json>`.
// Plain JavaScript on purpose: no loader (tsx) may sit between Node and the bundle.
// Loads the bundle as Lambda's runtime would (module init = our share of INIT), then
// invokes `handler` once per event and writes the timings to <result.json>.
import { readFileSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';

const startMs = performance.now(); // Node's own start-up, from the process' time origin
const [bundle, eventsFile, resultFile] = process.argv.slice(2);
const { events, streaming, memoryMb } = JSON.parse(readFileSync(eventsFile, 'utf8'));

// The runtime's global for response streaming: the prelude (status, headers) is kept on the stream.
globalThis.awslambda = {
  streamifyResponse: (fn) => fn,
  HttpResponseStream: { from: (stream, prelude) => Object.assign(stream, { prelude }) },
};

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const c0 = cpu();
const t0 = performance.now();
const mod = await import(pathToFileURL(bundle).href);
const initMs = performance.now() - t0;
const initCpuMs = cpu() - c0;

const invokes = [];
for (const [i, event] of events.entries()) {
  const context = {
    awsRequestId: `cold-${i}`,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: String(memoryMb),
    getRemainingTimeInMillis: () => 60_000,
  };
  const c = cpu();
  const t = performance.now();
  let status;
  let bytes = 0;
  if (streaming) {
    const sink = new Writable({ write: (chunk, _enc, cb) => ((bytes += chunk.length), cb()) });
    await mod.handler(event, sink, context);
    status = sink.prelude?.statusCode;
  } else {
    const res = await mod.handler(event, context);
    status = res?.statusCode ?? (res === undefined ? undefined : 200);
    bytes = typeof res?.body === 'string' ? res.body.length : 0;
  }
  invokes.push({ ms: performance.now() - t, cpuMs: cpu() - c, status, bytes });
}
writeFileSync(resultFile, JSON.stringify({ startMs, initMs, initCpuMs, invokes, rssMiB: process.memoryUsage().rss / 2 ** 20 }));
