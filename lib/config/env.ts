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
} as const;
export type EnvVar = (typeof EnvVars)[keyof typeof EnvVars];
