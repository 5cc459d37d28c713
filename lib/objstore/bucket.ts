/**
 * The object-store interface (after thanos-io/objstore): a flat namespace of
 * immutable objects addressed by string keys. Implementations: the local
 * filesystem (`fs/`), memory (`mem.ts`) and, later, S3. Every implementation
 * passes `test/conformance/bucket.ts`.
 *
 * Keys are `/`-separated UTF-8 strings without a leading `/`, no empty
 * segments, and no `.` or `..` segments.
 */

/** What `head` tells about an object. */
export interface ObjectAttributes {
  /** Size in bytes. */
  size: number;
  /** Last modification time, as the backend reports it. */
  lastModified: Date;
}

/** Read-only access to a bucket. */
export interface BucketReader {
  /**
   * Reads a whole object. The returned bytes belong to the caller.
   * Rejects with an error for which `isNotFound` is true if the key is absent.
   */
  get(key: string): Promise<Uint8Array>;
  /**
   * Reads `length` bytes starting at `offset`. A range that runs past the end
   * of the object is cut at the end (as an HTTP Range request is); an offset
   * at or past the end yields an empty array. Rejects like `get` when absent.
   */
  getRange(key: string, offset: number, length: number): Promise<Uint8Array>;
  /** Size and modification time; rejects like `get` when absent. */
  head(key: string): Promise<ObjectAttributes>;
  /** Whether the object exists. */
  exists(key: string): Promise<boolean>;
  /**
   * Every key that starts with `prefix` (all depths), in ascending order of
   * their UTF-8 bytes, as S3's ListObjectsV2 returns them.
   */
  iter(prefix: string): AsyncIterable<string>;
  /** True when `err` means "no such object". */
  isNotFound(err: unknown): boolean;
}

/** Read-write access to a bucket. */
export interface Bucket extends BucketReader {
  /**
   * Stores an object atomically: a reader sees either nothing or all bytes.
   * Overwrites an existing object with the same key. Resolves only once the
   * object is durable. The caller must not change `data` until it resolves.
   */
  put(key: string, data: Uint8Array): Promise<void>;
  /** Removes an object; removing an absent key is not an error. */
  delete(key: string): Promise<void>;
  /** Releases resources; the bucket is not used afterwards. */
  close(): Promise<void>;
}
