import { isLogger, type Logger } from '@roomq/protocol';
import { z } from 'zod';

/** `host:port`, as routers and brokers are addressed. */
export const endpointSchema = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:9876');

export const loggerSchema = z.custom<Logger>(isLogger, 'expected a logger with info/warn/error/debug/trace/child (pino loggers fit)');
