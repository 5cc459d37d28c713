/**
 * Group commit: appenders of one tenant that commit at about the same time
 * share one segment, hence one object write (on the filesystem: one file,
 * one fsync, one folder fsync) and one catalog write (one synced LevelDB
 * batch), instead of one each.
 *
 * A commit joins the queue. When no group is being written, the queue is
 * written at the end of the current turn of the event loop (setImmediate),
 * so that requests whose bodies arrived together go together; while a
 * group is being written, commits queue up for the next group.
 *
 * Senders whose requests were just acknowledged usually send again: with
 * 4 senders, groups alternated 1, 3, 1, 3 (a lone commit written while the
 * other three arrived). So a group goes as soon as the queue holds as many
 * commits as were in flight around the last group (its own plus those
 * that queued during its write), and waits for them at most `lingerMs`
 * (5 ms) otherwise. The count is what releases a group; the timer only
 * bounds the wait when a sender went away. A single sender (the last group
 * held one commit and none queued) never waits. Measured with 4 senders:
 * ~610 segments per 1202 requests -> ~320, each segment a file created
 * and fsynced, plus a synced catalog batch (about 1.5 ms of CPU each, all
 * threads, measured as the difference).
 *
 * Every commit of a group resolves only when the whole group's segment is
 * durable, indexed and in the catalog (invariant 1), and every one rejects
 * if any step fails: none of them was acknowledged, so their senders
 * retry, and a retried sample that did reach storage is deduplicated on
 * read (same series and timestamp).
 */
import { writeSegment, type CommitResult, type PendingWrite, type SegmentDeps } from './segment-commit.ts';

/** Limits of one group. */
export interface GroupCommitOptions {
  /** Most commits in one segment. @default 32 */
  maxCommits?: number;
  /** Most samples in one segment (a group always takes at least one commit). @default 200000 */
  maxSamples?: number;
  /**
   * Longest wait, in ms, for commits expected to join a group (see
   * {@link GroupCommitter}); 0 never waits. @default 5
   */
  lingerMs?: number;
  /**
   * This process is the only writer of its index store (local mode, where
   * LevelDB's lock makes it so): series new to the process in an index
   * bucket that was empty at first look skip the point read of their
   * records (lib/tsdb/fresh-buckets.ts). Where other writers may index the
   * same series (AWS mode: Lambda functions beside `serve`), that would
   * only rewrite their items, but each rewrite is a paid write.
   * @default false
   */
  soleWriter?: boolean;
}

interface Waiting {
  write: PendingWrite;
  resolve: (r: CommitResult) => void;
  reject: (e: unknown) => void;
}

/** Writes the commits of one tenant in groups (see the file comment). */
export class GroupCommitter {
  private queue: Waiting[] = [];
  /** A group is being written, or a drain is scheduled. */
  private busy = false;
  /** Waiting (at most lingerMs) for the queue to reach `expected`. */
  private linger: ReturnType<typeof setTimeout> | undefined;
  /**
   * Commits in flight around the last group: its own plus those that
   * queued while it was written. Senders that were answered usually send
   * again, so the next group waits (briefly) for that many.
   */
  private expected = 1;
  private readonly maxCommits: number;
  private readonly maxSamples: number;
  private readonly lingerMs: number;

  constructor(
    private readonly deps: SegmentDeps,
    opts: GroupCommitOptions = {},
    /** Writes one group; tests substitute an instrumented one. */
    private readonly write: (deps: SegmentDeps, members: readonly PendingWrite[]) => Promise<CommitResult[]> = writeSegment,
  ) {
    this.maxCommits = opts.maxCommits ?? 32;
    this.maxSamples = opts.maxSamples ?? 200_000;
    this.lingerMs = opts.lingerMs ?? 5;
  }

  /** Queues `write`; resolves once the segment holding it is durable and recorded. */
  commit(write: PendingWrite): Promise<CommitResult> {
    return new Promise<CommitResult>((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
      if (this.busy) return;
      if (this.linger !== undefined) {
        if (this.full()) this.release();
      } else if (this.full()) {
        this.schedule();
      } else {
        this.linger = setTimeout(() => this.release(), this.lingerMs);
      }
    });
  }

  /** Commits waiting for a group to take them. */
  get queued(): number {
    return this.queue.length;
  }

  /** Whether the queue holds a group worth writing without waiting longer. */
  private full(): boolean {
    return this.lingerMs <= 0 || this.queue.length >= this.expected || this.queuedSamples() >= this.maxSamples;
  }

  private queuedSamples(): number {
    let n = 0;
    for (let i = 0; i < this.queue.length; i++) n += this.queue[i]!.write.n;
    return n;
  }

  /** Ends a wait: the queue goes in the next group, whatever its size. */
  private release(): void {
    if (this.linger === undefined) return;
    clearTimeout(this.linger);
    this.linger = undefined;
    this.schedule();
  }

  /** Writes the queue at the end of this turn of the event loop. */
  private schedule(): void {
    this.busy = true;
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const group = this.take();
        let results: CommitResult[];
        try {
          results = await this.write(this.deps, group.map((w) => w.write));
        } catch (err) {
          for (const w of group) w.reject(err);
          continue;
        }
        group.forEach((w, i) => w.resolve(results[i]!));
        this.expected = Math.min(this.maxCommits, group.length + this.queue.length);
        // Those just answered are expected back: wait for them (see commit).
        if (!this.full()) break;
      }
    } finally {
      this.busy = false;
    }
    if (this.queue.length > 0 && this.linger === undefined) {
      this.linger = setTimeout(() => this.release(), this.lingerMs);
    }
  }

  /** The next group: queued commits in order, within the limits. */
  private take(): Waiting[] {
    let samples = this.queue[0]!.write.n;
    let k = 1;
    while (k < this.queue.length && k < this.maxCommits && samples + this.queue[k]!.write.n <= this.maxSamples) {
      samples += this.queue[k]!.write.n;
      k++;
    }
    return this.queue.splice(0, k);
  }
}
