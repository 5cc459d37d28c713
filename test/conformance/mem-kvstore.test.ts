import { MemKVStore } from '../../lib/kvstore/mem.ts';
import { kvStoreAcceptance } from './kvstore.ts';

kvStoreAcceptance('MemKVStore', async () => ({ store: new MemKVStore(), cleanup: async () => {} }));
