/**
 * End-to-end test harness: real Prometheus, node_exporter and Alertmanager
 * processes, plus an independent remote-write/read client (protobufjs).
 */
export { PROGRAMS, type ProgramName, requireBinary, skipReason } from './binaries.ts';
export { freePort, type ManagedProcess, startProcess, type StartOptions } from './process.ts';
export {
  type AlertmanagerOptions,
  EMPTY_PROMETHEUS_CONFIG,
  type ExporterOptions,
  type PrometheusOptions,
  type PrometheusProcess,
  selfScrapeConfig,
  startAlertmanager,
  startNodeExporter,
  startPrometheus,
} from './prometheus.ts';
export {
  crc32c,
  encodeWriteRequest,
  exactMatchers,
  type OracleChunk,
  type OracleChunkedSeries,
  type OracleMatcher,
  type OracleQuery,
  type OracleSample,
  type OracleSampleSeries,
  type OracleSeries,
  parseFrames,
  remoteReadChunks,
  remoteReadSamples,
  remoteWrite,
} from './remote-oracle.ts';
