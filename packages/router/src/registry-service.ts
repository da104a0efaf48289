import { RoomqError, type BrokerHeartbeatReplyMsg, type BrokerHeartbeatRequestMsg, type GetTopicReplyMsg, type GetTopicRequestMsg } from '@roomq/protocol';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { brokerControlReply } from './broker-control-reply.js';
import { unary } from './grpc-handlers.js';
import { brokerStateFromWire, topicConfigToWire, v1Ok } from './registry-wire.js';
import type { RouterContext } from './router-context.js';

/** roomq.v1.RegistryService: broker heartbeats and topic lookups. */
export function registryServiceImpl(ctx: RouterContext): UntypedServiceImplementation {
  const logger = ctx.logger;
  return {
    BrokerHeartbeat: unary<Partial<BrokerHeartbeatRequestMsg>, BrokerHeartbeatReplyMsg>(logger, 'BrokerHeartbeat', async (call) => {
      const state = brokerStateFromWire(call.request.state);
      ctx.brokers.heartbeat(state);
      const topics = await ctx.topics.list();
      return {
        status: v1Ok(),
        heartbeat_interval_ms: ctx.heartbeatIntervalMs,
        topics: topics.map(topicConfigToWire),
        ...brokerControlReply(ctx.room, state.group, ctx.control(), ctx.store.health(), ctx.brokers.list()),
      };
    }),
    GetTopic: unary<Partial<GetTopicRequestMsg>, GetTopicReplyMsg>(logger, 'GetTopic', async (call) => {
      const name = call.request.name;
      if (!name) throw new RoomqError('BAD_REQUEST', 'GetTopic needs the topic name', { details: { field: 'name' } });
      const topic = await ctx.topics.require(name, call.request.create_if_missing === true, 'broker');
      return { status: v1Ok(), topic: topicConfigToWire(topic) };
    }),
  };
}
