import type { Metadata } from '@grpc/grpc-js';

/** Header carrying the client ID on every call of RocketMQ 5 clients and the roomq SDK. */
export const CLIENT_ID_HEADER = 'x-mq-client-id';

export function clientIdOf(metadata: Metadata): string | undefined {
  const value = metadata.get(CLIENT_ID_HEADER)[0];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
