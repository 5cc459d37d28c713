/**
 * Group commit: appenders of one tenant that commit at about the same time
 * share one segment, hence one object write (on the filesystem: one file,
 * one fsync, one folder fsync) and one catalog write (one synced LevelDB
 * batch), instead of one each.
 *
 * A commit joins the queue. When no group is being written, the queue is
 * written at the end of the current turn of the event loop (setImmediate),
 * so that requests whose bodies arrived together go together; while a
 * group is being written, commits queue up and go in the next group as
 * soon as it is done. Nothing waits on a timer: an idle server writes a
 * lone commit at once.
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
}

interface Waiting {
  write: PendingWrite;
  resolve: (r: CommitResult) => void;
  reject: (e: unknown) => void;
}

/** Writes the commits of one tenant in groups (see the file comment). */
export class GroupCommitter {
  private queue: Waiting[] = [];
  private busy = false;
  private readonly maxCommits: number;
  private readonly maxSamples: number;

  constructor(
    private readonly deps: SegmentDeps,
    opts: GroupCommitOptions = {},
    /** Writes one group; tests substitute an instrumented one. */
    private readonly write: (deps: SegmentDeps, members: readonly PendingWrite[]) => Promise<CommitResult[]> = writeSegment,
  ) {
    this.maxCommits = opts.maxCommits ?? 32;
    this.maxSamples = opts.maxSamples ?? 200_000;
  }

  /** Queues `write`; resolves once the segment holding it is durable and recorded. */
  commit(write: PendingWrite): Promise<CommitResult> {
    return new Promise<CommitResult>((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
      if (!this.busy) {
        this.busy = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  /** Commits waiting for a group to take them. */
  get queued(): number {
    return this.queue.length;
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
      }
    } finally {
      this.busy = false;
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
