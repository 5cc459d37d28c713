/**
 * The promqltest language (Prometheus' PromQL test scripts): parser,
 * runner and targets. See parse.ts for the syntax accepted.
 */
export * from './series.ts';
export * from './parse.ts';
export * from './runner.ts';
export { HttpTarget, type HttpTargetOptions, decodeQueryData, decodeSampleValue } from './http-target.ts';
export { EngineTarget, type QueryEngineLike } from './engine-target.ts';
