export { Broker, splitHostPort } from './server/broker.js';
export type { BrokerInfo, BrokerStatus } from './server/broker.js';
export { BrokerConfigSchema, brokerName, parseBrokerConfig } from './server/broker-config.js';
export type { BrokerConfig, BrokerConfigInput } from './server/broker-config.js';
export { MessageStore, MessageStoreOptionsSchema } from './store/index.js';
export type { AppendRequest, AppendResult, MessageStoreOptions, ReadResult } from './store/index.js';
export { QUARANTINE_DIR, Quarantine, listQuarantine, markReplayed, readQuarantined } from './server/quarantine.js';
export type { QuarantineEntry } from './server/quarantine.js';
