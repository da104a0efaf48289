import { isLogger, type Logger } from '@roomq/protocol';
import { z } from 'zod';
import type { ReplicaLog } from './replica-log.js';

/** `host:port`, as brokers are addressed. */
export const endpointSchema = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:10912');

export const loggerSchema = z.custom<Logger>(isLogger, 'expected a logger with info/warn/error/debug/trace/child (pino loggers fit)');

const LOG_METHODS = ['logEndOffset', 'durableOffset', 'segmentSizeBytes', 'readLog', 'waitForDurable', 'appendReplicated', 'truncate', 'lastRecord', 'recordCrcAt', 'epochHistory'] as const;

export const replicaLogSchema = z.custom<ReplicaLog>(
  (value) => typeof value === 'object' && value !== null && LOG_METHODS.every((name) => typeof (value as Record<string, unknown>)[name] === 'function'),
  `expected a ReplicaLog (${LOG_METHODS.join(', ')}); the broker's MessageStore implements it`,
);

/** A broker group, member or room name as it appears in configuration. */
export const nameSchema = z.string().min(1, 'must not be empty');
