/**
 * The DynamoDB backend of the index store: {@link DynamoKVStore} and
 * {@link ensureTable}. Imported on its own so that bundles without DynamoDB
 * never load the AWS SDK.
 */
export {
  DynamoKVStore,
  MAX_BATCH_WRITE,
  type DynamoKVStoreOptions,
  type DynamoRetryOptions,
} from './dynamo-store.ts';
export { TableSchemaError, ensureTable, type EnsureTableOptions } from './ensure-table.ts';
