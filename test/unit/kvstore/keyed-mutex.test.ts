import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyedMutex } from '../../../lib/kvstore/leveldb/keyed-mutex.ts';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('KeyedMutex', () => {
  it('runs tasks sharing a key one at a time, in start order', async () => {
    // Prepare
    const m = new KeyedMutex();
    const log: string[] = [];
    let active = 0;
    const task = (name: string) => async () => {
      active++;
      assert.equal(active, 1, `${name} overlaps another task`);
      log.push(`start ${name}`);
      await tick();
      log.push(`end ${name}`);
      active--;
    };
    // Act
    await Promise.all([m.run(['k'], task('a')), m.run(['k', 'x'], task('b')), m.run(['x', 'k'], task('c'))]);
    // Assess
    assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    assert.equal(m.size, 0, 'no keys held afterwards');
  });

  it('runs tasks with disjoint keys concurrently', async () => {
    const m = new KeyedMutex();
    let active = 0;
    let peak = 0;
    const task = async () => {
      active++;
      peak = Math.max(peak, active);
      await tick();
      active--;
    };
    await Promise.all([m.run(['a'], task), m.run(['b'], task), m.run(['c', 'd'], task)]);
    assert.equal(peak, 3);
  });

  it('does not deadlock on a key listed twice, nor on crossing key orders', async () => {
    const m = new KeyedMutex();
    const results = await Promise.all([
      m.run(['a', 'a', 'b'], async () => 1),
      m.run(['b', 'a'], async () => 2),
      m.run(['a', 'b'], async () => 3),
    ]);
    assert.deepEqual(results, [1, 2, 3]);
  });

  it('releases the keys when a task throws', async () => {
    const m = new KeyedMutex();
    await assert.rejects(
      m.run(['k'], async () => {
        throw new Error('task failed');
      }),
      /task failed/,
    );
    assert.equal(await m.run(['k'], async () => 'next'), 'next');
    assert.equal(m.size, 0);
  });
});
