import { RoomqError } from './errors.js';
import type { SectionSummary } from './record-codec.js';

/** Default largest message body a broker accepts: 4 MiB. Brokers set it with `maxBodyBytes`. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Default largest encoded property block of one message: 16 KiB. */
export const DEFAULT_MAX_PROPERTIES_BYTES = 16 * 1024;
export const MAX_KEYS_PER_MESSAGE = 32;
export const MAX_KEY_BYTES = 255;
export const MAX_TAG_BYTES = 255;

const TOPIC_RE = /^[A-Za-z0-9_%-]{1,127}$/;
const GROUP_RE = /^[A-Za-z0-9_%-]{1,255}$/;
const ROOM_RE = /^[a-z0-9][a-z0-9-]{0,31}$/;
// Printable, no separators that other RocketMQ tooling splits on.
const TAG_RE = /^[^\s|]*$/;

export function validateTopicName(topic: string): void {
  if (!TOPIC_RE.test(topic)) {
    throw new RoomqError('INVALID_TOPIC', `topic name ${JSON.stringify(topic)} is invalid: use 1-127 characters from A-Z a-z 0-9 _ - %`, {
      details: { topic },
    });
  }
}

/**
 * Message property a producer stamps on a migrating topic's messages: the migration switch of the route it sent
 * by. A consumer that has not yet seen that switch's read limits holds the message until it has (see
 * docs/design.md, "Topic migration").
 */
export const MIGRATION_SWITCH_PROPERTY = 'roomq-migration-switch';

export function validateGroupName(group: string): void {
  if (!GROUP_RE.test(group)) {
    throw new RoomqError('INVALID_GROUP', `group name ${JSON.stringify(group)} is invalid: use 1-255 characters from A-Z a-z 0-9 _ - %`, {
      details: { group },
    });
  }
}

export function validateRoomName(room: string): void {
  if (!ROOM_RE.test(room)) {
    throw new RoomqError('BAD_REQUEST', `room name ${JSON.stringify(room)} is invalid: use 1-32 characters from a-z 0-9 -, starting with a letter or digit`, {
      details: { room },
    });
  }
}

export interface MessageLimits {
  maxBodyBytes: number;
  maxPropertiesBytes: number;
}

/** Checks what a producer sent against the broker's limits; throws the error the producer should see. */
export function validateMessage(summary: SectionSummary, limits: MessageLimits): void {
  validateTopicName(summary.topic);
  if (summary.bodyLength > limits.maxBodyBytes) {
    throw new RoomqError(
      'BODY_TOO_LARGE',
      `message body is ${summary.bodyLength} bytes, over the broker limit of ${limits.maxBodyBytes}; split the payload or raise the broker's maxBodyBytes`,
      { details: { topic: summary.topic, field: 'body' } },
    );
  }
  if (summary.propertiesBytes > limits.maxPropertiesBytes) {
    throw new RoomqError('PROPERTIES_TOO_LARGE', `message properties take ${summary.propertiesBytes} bytes, over the limit of ${limits.maxPropertiesBytes}`, {
      details: { topic: summary.topic, field: 'properties' },
    });
  }
  if (summary.messageId.length === 0 || summary.messageId.length > 128) {
    throw new RoomqError('INVALID_MESSAGE_ID', 'message ID must be 1-128 characters', { details: { topic: summary.topic, field: 'messageId' } });
  }
  if (Buffer.byteLength(summary.tag) > MAX_TAG_BYTES || !TAG_RE.test(summary.tag)) {
    throw new RoomqError('INVALID_TAG', `tag ${JSON.stringify(summary.tag)} is invalid: at most ${MAX_TAG_BYTES} bytes, no spaces or '|'`, {
      details: { topic: summary.topic, field: 'tag' },
    });
  }
  if (summary.keys.length > MAX_KEYS_PER_MESSAGE) {
    throw new RoomqError('INVALID_KEY', `a message may carry at most ${MAX_KEYS_PER_MESSAGE} keys, this one has ${summary.keys.length}`, {
      details: { topic: summary.topic, field: 'keys' },
    });
  }
  for (const key of summary.keys) {
    if (key.length === 0 || Buffer.byteLength(key) > MAX_KEY_BYTES) {
      throw new RoomqError('INVALID_KEY', `message key must be 1-${MAX_KEY_BYTES} bytes`, { details: { topic: summary.topic, field: 'keys' } });
    }
  }
}
