/**
 * CPU per thread id of a process, for telling apart threads that share a
 * name (Node's threads are all called `node`): in creation order, Node
 * starts the JS main thread, then V8's platform workers (GC helpers,
 * concurrent compilation), later libuv's pool (fs calls, LevelDB jobs),
 * and LevelDB its compaction thread.
 */
import { liveThreads } from './proc.ts';

/** CPU seconds per live thread id. */
export function tidCpuSeconds(pid: number): Map<number, number> {
  return new Map(liveThreads(pid).map((t) => [t.tid, t.seconds]));
}

/** `after - before` per thread id, as `tid-offset:seconds` in id order (offset from the process id), busy threads only. */
export function formatTidCpu(pid: number, before: Map<number, number>, after: Map<number, number>, min = 0.01): string {
  return [...after]
    .map(([tid, s]) => [tid, s - (before.get(tid) ?? 0)] as const)
    .filter(([, s]) => s >= min)
    .sort((a, b) => a[0] - b[0])
    .map(([tid, s]) => `${tid === pid ? 'main' : `+${tid - pid}`} ${s.toFixed(2)}`)
    .join(', ');
}
