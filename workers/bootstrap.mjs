// Worker bootstrap for running TypeScript sources: register tsx, then load the real entry.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.__entry);
