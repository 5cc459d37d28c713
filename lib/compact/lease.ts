/**
 * A lease: at most one holder at a time for a named job, taken with a
 * conditional write and expiring when its holder dies (it stops renewing).
 *
 * The item (pk `leases`, sk = name) holds `{"holder":…,"expiresAt":…}`.
 * Taking it: `putIfAbsent`; if present and expired, `replaceIf` with the
 * exact bytes read, so two takers of an expired lease cannot both win.
 * Correctness of compaction does not rest on the lease (a zombie holder
 * can only write a block that duplicates data, which readers merge); it
 * keeps two compactors from doing the same work.
 */
import type { KVStore } from '../kvstore/kvstore.ts';

export const LeasePartition = 'leases';

export interface LeaseOptions {
  kv: KVStore;
  name: string;
  /** Who holds it (shown to operators): host, pid and a random part. */
  holder: string;
  /** How long a lease lives without renewal, ms. */
  ttlMs: number;
  now?: () => number;
}

interface LeaseValue {
  holder: string;
  expiresAt: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class Lease {
  private mine: Uint8Array | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: LeaseOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Takes the lease if free or expired; true if we hold it now. */
  async acquire(): Promise<boolean> {
    const { kv, name } = this.opts;
    const next = this.value();
    if (await kv.putIfAbsent({ pk: LeasePartition, sk: name, value: next })) {
      this.mine = next;
      return true;
    }
    const cur = await kv.get(LeasePartition, name);
    if (cur === undefined) return this.acquire();
    const held = parse(cur);
    if (held !== undefined && held.expiresAt > this.now() && held.holder !== this.opts.holder) return false;
    if (await kv.replaceIf({ pk: LeasePartition, sk: name, value: next }, cur)) {
      this.mine = next;
      return true;
    }
    return false;
  }

  /** Extends our lease; false if it was lost (expired and taken). */
  async renew(): Promise<boolean> {
    if (this.mine === undefined) return false;
    const next = this.value();
    if (await this.opts.kv.replaceIf({ pk: LeasePartition, sk: this.opts.name, value: next }, this.mine)) {
      this.mine = next;
      return true;
    }
    this.mine = undefined;
    return false;
  }

  /** Gives the lease up (marks it expired) if we still hold it. */
  async release(): Promise<void> {
    if (this.mine === undefined) return;
    const free = enc.encode(JSON.stringify({ holder: '', expiresAt: 0 } satisfies LeaseValue));
    await this.opts.kv.replaceIf({ pk: LeasePartition, sk: this.opts.name, value: free }, this.mine);
    this.mine = undefined;
  }

  /** The current holder and expiry, for progress output. */
  async current(): Promise<LeaseValue | undefined> {
    const cur = await this.opts.kv.get(LeasePartition, this.opts.name);
    return cur === undefined ? undefined : parse(cur);
  }

  private value(): Uint8Array {
    return enc.encode(JSON.stringify({ holder: this.opts.holder, expiresAt: this.now() + this.opts.ttlMs } satisfies LeaseValue));
  }
}

function parse(b: Uint8Array): LeaseValue | undefined {
  try {
    const v = JSON.parse(dec.decode(b)) as LeaseValue;
    return typeof v.expiresAt === 'number' && typeof v.holder === 'string' ? v : undefined;
  } catch {
    return undefined; // unreadable: treat as expired
  }
}
