import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelKVStore } from '../../lib/kvstore/leveldb/leveldb-store.ts';
import { kvStoreAcceptance } from './kvstore.ts';

kvStoreAcceptance('LevelKVStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stratus-leveldb-'));
  const store = await LevelKVStore.open({ dir: join(dir, 'db') });
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});
