/**
 * The index store: the {@link KVStore} interface, the in-memory store,
 * limits and decorators. Backends are imported from their own folders
 * (`leveldb/leveldb-store.ts`, later `dynamodb/`), so that a bundle never
 * pulls in a backend it does not use (classic-level is a native module).
 */
export type { KVItem, KVKey, KVQueryOptions, KVStore } from './kvstore.ts';
export { kvGetMany } from './kvstore.ts';
export { InvalidKVKeyError, InvalidKVRequestError, KVValueTooLargeError } from './errors.ts';
export { MemKVStore } from './mem.ts';
export { prefixedKVStore } from './prefixed.ts';
export {
  KVOps,
  faultyKVStore,
  type FaultyKVStoreOptions,
  type KVFaultFn,
  type KVOp,
} from './faulty.ts';
export {
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  checkBatch,
  checkItem,
  checkKey,
  checkPk,
  checkQuery,
  checkSk,
} from './validate.ts';
