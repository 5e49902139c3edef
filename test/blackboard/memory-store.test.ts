import { MemoryStore } from '../../src/index.js';
import { describeStoreConformance } from './store-conformance.js';

describeStoreConformance('MemoryStore', async () => ({ store: new MemoryStore() }));
