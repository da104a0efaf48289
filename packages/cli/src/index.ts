export { launchServer, stopServer } from './launcher.js';
export type { ServerHandle } from './launcher.js';
export type { ReadyMessage } from './server-process.js';
export { testBody, testBodyIntact } from './test-body.js';
export { percentiles } from './output.js';
export { ReplicatedGroup } from './replicated-group.js';
export type { MemberSpec } from './replicated-group.js';
export { ALLOCATOR_ENV, rerunWithAllocatorEnv, withAllocatorEnv } from './allocator-env.js';
