/**
 * Counters of the remote_write and remote_read endpoints. Request counts
 * and durations per handler come from the HTTP layer; these add what only
 * the endpoints know: samples, rejections by reason, objects written.
 */
import { Counter, type Registry } from 'prom-client';

export interface RemoteMetrics {
  samplesReceived: Counter<'tenant'>;
  seriesReceived: Counter<'tenant'>;
  duplicateSamples: Counter<'tenant'>;
  exemplarsDropped: Counter<'tenant'>;
  metadataIgnored: Counter<'tenant'>;
  rejectedRequests: Counter<'handler' | 'reason'>;
  rejectedSamples: Counter<'reason'>;
  objectsWritten: Counter<'kind'>;
  objectBytesWritten: Counter<'kind'>;
  seriesIndexed: Counter<'tenant'>;
  readQueries: Counter<'response_type'>;
  readSamples: Counter<'response_type'>;
  readChunks: Counter;
}

/** Creates the metrics on `registry` (or unregistered ones when omitted). */
export function newRemoteMetrics(registry?: Registry): RemoteMetrics {
  const registers = registry ? [registry] : [];
  const c = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter<L>({ name, help, labelNames, registers });
  return {
    samplesReceived: c('stratus_remote_write_samples_total', 'Samples accepted by remote_write (acknowledged with 2xx).', ['tenant']),
    seriesReceived: c('stratus_remote_write_series_total', 'Series entries in accepted remote_write requests.', ['tenant']),
    duplicateSamples: c('stratus_remote_write_duplicate_samples_total', 'Samples dropped because a later sample in the same request had the same series and timestamp.', ['tenant']),
    exemplarsDropped: c('stratus_remote_write_exemplars_dropped_total', 'Exemplars received and not stored (not supported yet).', ['tenant']),
    metadataIgnored: c('stratus_remote_write_metadata_ignored_total', 'Metric metadata entries received and ignored.', ['tenant']),
    rejectedRequests: c('stratus_rejected_requests_total', 'Requests rejected, by handler and reason.', ['handler', 'reason']),
    rejectedSamples: c('stratus_remote_write_rejected_samples_total', 'Samples in rejected remote_write requests, by reason.', ['reason']),
    objectsWritten: c('stratus_objects_written_total', 'Objects written to the object store, by kind.', ['kind']),
    objectBytesWritten: c('stratus_object_bytes_written_total', 'Bytes of objects written to the object store, by kind.', ['kind']),
    seriesIndexed: c('stratus_series_indexed_total', 'Series newly written to the label index (per index bucket).', ['tenant']),
    readQueries: c('stratus_remote_read_queries_total', 'remote_read queries answered, by response type.', ['response_type']),
    readSamples: c('stratus_remote_read_samples_total', 'Samples returned by remote_read SAMPLES answers.', ['response_type']),
    readChunks: c('stratus_remote_read_chunks_total', 'Chunks streamed by remote_read STREAMED_XOR_CHUNKS answers.', []),
  };
}
