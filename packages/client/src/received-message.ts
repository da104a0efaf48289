import type { MessageRecord } from '@roomq/protocol';
import type { QueueRef } from './topic-route.js';

/** A message delivered to a consumer's handler. */
export interface ReceivedMessage {
  topic: string;
  messageId: string;
  queueId: number;
  queueOffset: number;
  keys: readonly string[];
  tag: string;
  properties: Readonly<Record<string, string>>;
  /** A view into the received frame; copy it if you keep it long after the handler. */
  body: Buffer;
  bornTimestampMs: number;
  storeTimestampMs: number;
  /** Broker group the message was read from. */
  broker: string;
  /** The broker instance that served it, e.g. `broker-a/1@dc2`. */
  brokerName: string;
  /** Room of that instance; empty when the route did not say. */
  room: string;
}

export function receivedFromRecord(record: MessageRecord, queue: QueueRef): ReceivedMessage {
  return {
    topic: record.topic,
    messageId: record.messageId,
    queueId: record.queueId,
    queueOffset: record.queueOffset,
    keys: record.keys,
    tag: record.tag,
    properties: record.properties,
    body: record.body,
    bornTimestampMs: record.bornTimestampMs,
    storeTimestampMs: record.storeTimestampMs,
    broker: queue.broker,
    brokerName: queue.brokerName,
    room: queue.room,
  };
}
