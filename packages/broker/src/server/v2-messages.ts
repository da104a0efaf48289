import { crc32, type MessageFields, type MessageRecord } from '@roomq/protocol';

/**
 * Mapping between RocketMQ v2 `Message` objects (as proto-loader presents them) and roomq message fields.
 * Only the fields roomq stores today are mapped; the rest of SystemProperties is ignored on the way in.
 */

export interface V2Timestamp {
  seconds?: number;
  nanos?: number;
}

export interface V2Resource {
  name?: string;
  resource_namespace?: string;
}

export interface V2SystemProperties {
  tag?: string;
  keys?: string[];
  message_id?: string;
  born_timestamp?: V2Timestamp | null;
  queue_id?: number;
  [field: string]: unknown;
}

export interface V2Message {
  topic?: V2Resource | null;
  user_properties?: Record<string, string>;
  system_properties?: V2SystemProperties | null;
  body?: Buffer;
}

export function timestampToMs(ts: V2Timestamp | null | undefined): number {
  if (!ts) return 0;
  return (ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

export function msToTimestamp(ms: number): { seconds: number; nanos: number } {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

/** Fields of an incoming v2 message; `newId` supplies an ID when the client sent none. */
export function fieldsFromV2(message: V2Message, newId: () => string, now: number): { fields: MessageFields; queueId: number } {
  const sys = message.system_properties ?? {};
  return {
    queueId: sys.queue_id ?? 0,
    fields: {
      topic: message.topic?.name ?? '',
      messageId: sys.message_id || newId(),
      tag: sys.tag ?? '',
      keys: sys.keys ?? [],
      properties: message.user_properties ?? {},
      body: message.body ?? Buffer.alloc(0),
      bornTimestampMs: timestampToMs(sys.born_timestamp) || now,
    },
  };
}

/** A stored message as a v2 `Message` for PullMessage; `body_digest` is required by RocketMQ clients. */
export function recordToV2(record: MessageRecord, storeHost: string): V2Message {
  return {
    topic: { name: record.topic },
    user_properties: { ...record.properties },
    system_properties: {
      tag: record.tag,
      keys: [...record.keys],
      message_id: record.messageId,
      body_digest: { type: 'CRC32', checksum: String(crc32(record.body)) },
      body_encoding: 'IDENTITY',
      message_type: 'NORMAL',
      born_timestamp: msToTimestamp(record.bornTimestampMs),
      born_host: '',
      store_timestamp: msToTimestamp(record.storeTimestampMs),
      store_host: storeHost,
      queue_id: record.queueId,
      queue_offset: record.queueOffset,
      delivery_attempt: 1,
    },
    body: record.body,
  };
}
