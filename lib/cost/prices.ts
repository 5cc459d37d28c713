/**
 * AWS list prices used by the cost model (lib/cost/model.ts), in one place,
 * each with the page it comes from.
 *
 * Provenance, stated honestly: these figures were written down on
 * 2026-11-21 without internet access, from what the author knew of AWS's
 * public price pages as of 2025 (the DynamoDB on-demand figures are the ones
 * after the 50 % cut of 1 November 2024). Each was then checked against the
 * stored copies of public pages available to us (no live access to AWS's
 * pages): `checked` says which page confirmed the figure, or that none did.
 * No figure was found wrong. Several are confirmed only by third-party
 * pages; AMP's ingestion tiers and storage price by none, so they stay "as
 * known; verify": open each `source` and update the number and
 * {@link PricesTakenOn} together. Region: US East (N. Virginia),
 * us-east-1. Free tiers are ignored (they do not scale).
 */

/** When the figures below were taken, and how. */
export const PricesTakenOn = 'as known on 2025 (written 2026-11-21 without internet access, checked against stored copies of public pages: AMP\'s tiers unconfirmed, several others only by third-party pages); verify before relying on them';

/** One list price: `usd` per `per` of `unit`. */
export interface Price {
  readonly usd: number;
  readonly per: number;
  readonly unit: string;
  readonly source: string;
  /**
   * Which page confirmed the figure (URL, as stored on 2026-11-21), or
   * `unconfirmed`. Third-party pages are marked so.
   */
  readonly checked?: string;
}

const S3Pricing = 'https://aws.amazon.com/s3/pricing/';
const DynamoPricing = 'https://aws.amazon.com/dynamodb/pricing/on-demand/';
const LambdaPricing = 'https://aws.amazon.com/lambda/pricing/';
const EventBridgePricing = 'https://aws.amazon.com/eventbridge/pricing/';
const CloudWatchPricing = 'https://aws.amazon.com/cloudwatch/pricing/';
const AmpPricing = 'https://aws.amazon.com/prometheus/pricing/';

/** The AWS prices of the services Stratus uses, us-east-1. */
export const AwsPrices = {
  region: 'us-east-1',
  s3: {
    /** S3 Standard, first 50 TB a month. */
    storage: { usd: 0.023, per: 1, unit: 'GB-month', source: S3Pricing, checked: 'third-party: https://cloudburn.io/blog/amazon-s3-pricing ("S3 Standard costs $0.023/GB/month", us-east-1, March 2026)' },
    /** PUT, COPY, POST and LIST requests (S3 Standard). */
    putClass: { usd: 0.005, per: 1000, unit: 'requests', source: S3Pricing, checked: 'third-party, as an example figure only: https://www.cloudkaramchari.com/blog/understanding-per-1000-put-copy-post-or-list-requests-in-amazon-s3-pricing/' },
    /** GET, SELECT and all other requests, HEAD included (S3 Standard). */
    getClass: { usd: 0.0004, per: 1000, unit: 'requests', source: S3Pricing, checked: 'unconfirmed' },
    /** DELETE (and DeleteObjects) requests are free. */
    delete: { usd: 0, per: 1000, unit: 'requests', source: S3Pricing, checked: 'AWS: http://aws.amazon.com/s3/faqs/ ("As with standard delete requests, Amazon S3 doesn\'t charge you for removing objects")' },
  },
  dynamodb: {
    /** On-demand write request unit (1 KB of item written); $1.25 before 2024-11-01. */
    write: { usd: 0.625, per: 1_000_000, unit: 'write request units', source: DynamoPricing, checked: 'third-party: https://airbyte.com/data-engineering-resources/dynamodb-pricing ("$0.625 per million write request units", US East, after the November 2024 cut)' },
    /** On-demand read request unit (4 KB strongly consistent, or 8 KB eventually); $0.25 before 2024-11-01. */
    read: { usd: 0.125, per: 1_000_000, unit: 'read request units', source: DynamoPricing, checked: 'third-party: https://airbyte.com/data-engineering-resources/dynamodb-pricing ("$0.125 per million read request units")' },
    /** Table storage (Standard table class), after the first 25 GB free. */
    storage: { usd: 0.25, per: 1, unit: 'GB-month', source: DynamoPricing, checked: 'AWS: https://aws.amazon.com/dynamodb/pricing/ ("The first 25 GB consumed per month is free, and prices start from $0.25 per GB-month thereafter")' },
  },
  lambda: {
    /** Arm (Graviton) duration, first 7.5 billion GB-seconds a month (x86: $0.0000166667). */
    arm64Duration: { usd: 0.0000133334, per: 1, unit: 'GB-second', source: LambdaPricing, checked: 'third-party: https://cloudchipr.com/blog/aws-lambda-pricing ("ARM: First 7.5 Billion GB-seconds per month: $0.0000133334 per GB-second", US East)' },
    /** Invocations, any architecture. */
    requests: { usd: 0.2, per: 1_000_000, unit: 'requests', source: LambdaPricing, checked: 'AWS News Blog post on 1 ms billing, as republished at http://www.headinthecloud.qualitycloudsystems.com/2020/12/new-for-aws-lambda-1ms-billing.html ("$0.20 per 1M requests", US East)' },
  },
  eventbridge: {
    /**
     * Scheduled rules on the default event bus (what infra/ uses for the
     * hourly compaction) are not charged. (EventBridge Scheduler, which
     * Stratus does not use, is $1.00 per million after 14 million free.)
     */
    scheduledRule: { usd: 0, per: 1, unit: 'invocations', source: EventBridgePricing, checked: 'unconfirmed (pages found cover custom events, $1.00 per million, and Scheduler, not scheduled rules)' },
  },
  cloudwatchMetrics: {
    /**
     * A custom metric (each metric name + dimension values), first 10,000
     * a month; for metrics published as embedded metric format.
     */
    customMetric: { usd: 0.3, per: 1, unit: 'metric-months', source: CloudWatchPricing, checked: 'third-party: https://c3x.dev/blog/aws-cloudwatch-metrics-cost/ ("$0.30/metric/month (first 10k)")' },
  },
  cloudwatchLogs: {
    /** Ingestion of Lambda logs (Standard log class). */
    ingest: { usd: 0.5, per: 1, unit: 'GB', source: CloudWatchPricing, checked: 'third-party: https://c3x.dev/blog/cloudwatch-logs-cost-optimization ("Ingestion: $0.50 per GB", Standard class, us-east-1, June 2026)' },
  },
} as const;

/** One tier of AMP's ingestion price. */
export interface AmpIngestTier {
  /** Upper end of the tier, samples ingested per month (cumulative). */
  readonly upToSamplesPerMonth: number;
  /** Dollars per 10 million samples in this tier. */
  readonly usdPer10M: number;
}

/**
 * Amazon Managed Service for Prometheus (AMP), us-east-1, same provenance
 * as above. Storage is billed on AMP's compressed size, which AWS does not
 * publish per sample; {@link AmpPrices.assumedBytesPerSample} is our
 * assumption (AWS's pricing examples have used 1–2 bytes per sample).
 */
export const AmpPrices = {
  source: AmpPricing,
  /**
   * The ingestion tiers are unconfirmed: the stored copies of
   * https://aws.amazon.com/prometheus/pricing/ hold the text but not the
   * price table. That page does confirm how storage is counted (samples
   * "typically 1 or 2 bytes" plus metadata; 1 GB = 2^30 bytes) and the free
   * tier (40 M samples ingested, 10 GB stored).
   */
  checked: 'unconfirmed',
  ingestTiers: [
    { upToSamplesPerMonth: 2e9, usdPer10M: 0.9 },
    { upToSamplesPerMonth: 252e9, usdPer10M: 0.35 },
    { upToSamplesPerMonth: Infinity, usdPer10M: 0.16 },
  ] satisfies readonly AmpIngestTier[],
  storage: { usd: 0.03, per: 1, unit: 'GB-month', source: AmpPricing, checked: 'unconfirmed (the stored copy of the AWS page has no price table)' },
  /** Query samples processed (not part of the ingest + storage comparison). */
  query: { usd: 0.1, per: 1e9, unit: 'query samples processed', source: AmpPricing, checked: 'unconfirmed' },
  assumedBytesPerSample: 2,
} as const;

/** Dollars for `amount` units at `price`. */
export function priced(price: Price, amount: number): number {
  return (price.usd * amount) / price.per;
}
