import { RoomqError, type WireStatus } from '@roomq/protocol';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { clientIdOf } from './call-metadata.js';
import { statusOnlyBidiStream, statusOnlyServerStream, unary } from './grpc-handlers.js';
import { routeForClient } from './room-routing.js';
import type { RouterContext } from './router-context.js';
import { messageQueueToWire, v2Ok, type V2MessageQueue, type V2Resource } from './v2-wire.js';

interface QueryRouteRequest {
  topic?: V2Resource | null;
  endpoints?: unknown;
}

interface QueryRouteResponse {
  status: WireStatus;
  message_queues?: V2MessageQueue[];
}

interface HeartbeatRequest {
  group?: V2Resource | null;
  client_type?: string;
}

interface NotifyClientTerminationRequest {
  group?: V2Resource | null;
}

interface StatusReply {
  status: WireStatus;
}

/** Calls that RocketMQ clients send to brokers (the route's endpoints), never to the access point. */
const BROKER_CALLS = [
  'SendMessage',
  'QueryAssignment',
  'AckMessage',
  'ForwardMessageToDeadLetterQueue',
  'UpdateOffset',
  'GetOffset',
  'QueryOffset',
  'EndTransaction',
  'ChangeInvisibleDuration',
] as const;

/** Access-point calls the router does not implement yet. */
const UNSUPPORTED_ACCESS_POINT_CALLS = ['RecallMessage', 'SyncLiteSubscription'] as const;

/**
 * apache.rocketmq.v2.MessagingService as the access point of RocketMQ clients: routes and client heartbeats.
 * Every other call answers at once with NOT_IMPLEMENTED, so a client pointed at the wrong address fails fast
 * instead of hanging.
 */
export function messagingServiceImpl(ctx: RouterContext): UntypedServiceImplementation {
  const logger = ctx.logger;
  const impl: UntypedServiceImplementation = {
    QueryRoute: unary<QueryRouteRequest, QueryRouteResponse>(logger, 'QueryRoute', async (call) => {
      const resource = call.request.topic;
      const name = resource?.name;
      if (!resource || !name) {
        throw new RoomqError('BAD_REQUEST', 'QueryRoute needs topic.name, the topic to route', { details: { field: 'topic.name' } });
      }
      const namespace = resource.resource_namespace ?? '';
      // Other RocketMQ clients get nearest-room routing too: writable (READ_WRITE) queues only in the room their
      // producers should write to, every other live master's queues as READ for consumers.
      const { route } = await routeForClient(ctx, name, { clientId: clientIdOf(call.metadata), peer: call.getPeer() }, 'query-route');
      return { status: v2Ok(), message_queues: route.queues.map((q) => messageQueueToWire(q, namespace)) };
    }),
    Heartbeat: unary<HeartbeatRequest, StatusReply>(logger, 'Heartbeat', (call) => {
      const clientId = clientIdOf(call.metadata);
      if (clientId) {
        ctx.clients.touch({
          clientId,
          group: call.request.group?.name ?? '',
          clientType: call.request.client_type ?? 'CLIENT_TYPE_UNSPECIFIED',
          peer: call.getPeer(),
          accessPoint: call.getHost(),
        });
      }
      return { status: v2Ok() };
    }),
    NotifyClientTermination: unary<NotifyClientTerminationRequest, StatusReply>(logger, 'NotifyClientTermination', (call) => {
      const clientId = clientIdOf(call.metadata);
      if (clientId) ctx.clients.remove(clientId);
      return { status: v2Ok() };
    }),
    ReceiveMessage: statusOnlyServerStream(logger, 'ReceiveMessage', notSupported('ReceiveMessage', true)),
    PullMessage: statusOnlyServerStream(logger, 'PullMessage', notSupported('PullMessage', true)),
    // Per the client notes a status-only Telemetry reply makes the official client's startup() reject, which
    // is the right outcome for a client that opened telemetry to the router instead of a broker.
    Telemetry: statusOnlyBidiStream(logger, 'Telemetry', notSupported('Telemetry', true)),
  };
  for (const method of BROKER_CALLS) impl[method] = notSupportedUnary(ctx, method, true);
  for (const method of UNSUPPORTED_ACCESS_POINT_CALLS) impl[method] = notSupportedUnary(ctx, method, false);
  return impl;
}

function notSupportedUnary(ctx: RouterContext, method: string, brokerCall: boolean): UntypedServiceImplementation[string] {
  const error = notSupported(method, brokerCall);
  return unary<unknown, StatusReply>(ctx.logger, method, () => {
    throw error;
  });
}

function notSupported(method: string, brokerCall: boolean): RoomqError {
  const hint = brokerCall ? '; clients send it to the broker endpoints that QueryRoute returns' : '';
  return new RoomqError('NOT_IMPLEMENTED', `${method} is not supported by the roomq router yet${hint}`);
}
