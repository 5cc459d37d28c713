/**
 * Names of the environment variables the Lambda functions read. `infra/`
 * sets them and `functions/deps.ts` reads them, both from this one module,
 * so the two cannot disagree. (lib/ itself never reads process.env.)
 */
export const EnvVars = {
  /** S3 bucket holding the objects. */
  bucket: 'STRATUS_BUCKET',
  /** DynamoDB table holding the index and catalog. */
  table: 'STRATUS_TABLE',
  /** Log level: debug, info, warn or error. */
  logLevel: 'STRATUS_LOG_LEVEL',
  /**
   * Retention of the compact function, JSON:
   * `{"raw":"90d","5m":"1y","1h":"5y","tenants":{"<tenant>":{"raw":"30d"}}}`;
   * unset or a missing field keeps data forever.
   */
  retention: 'STRATUS_RETENTION',
  /**
   * The table's Time to Live attribute for label-index items
   * (lib/index/expiry.ts). Set: writers stamp index items with it and
   * compaction leaves sealed days' items to expire instead of deleting them.
   * Unset: no stamps, sealing deletes (tables without TTL).
   */
  indexTtlAttribute: 'STRATUS_INDEX_TTL_ATTRIBUTE',
} as const;
export type EnvVar = (typeof EnvVars)[keyof typeof EnvVars];
