import { type ClusterStatusReplyMsg, type CreateTopicReplyMsg, type CreateTopicRequestMsg, type ListTopicsReplyMsg, type RouterViewMsg } from '@roomq/protocol';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { ROUTER_ALIVE_MS, ROUTER_LIST_WINDOW_MS } from './control-sync.js';
import type { RouterRecord, StoreHealth } from './control-store.js';
import { unary } from './grpc-handlers.js';
import { brokerViewToWire, topicConfigToWire, v1Ok } from './registry-wire.js';
import type { RouterContext } from './router-context.js';

/** roomq.v1.AdminService: topic management and cluster status for operators and the CLI. */
export function adminServiceImpl(ctx: RouterContext): UntypedServiceImplementation {
  const logger = ctx.logger;
  return {
    CreateTopic: unary<Partial<CreateTopicRequestMsg>, CreateTopicReplyMsg>(logger, 'CreateTopic', async (call) => {
      const outcome = await ctx.topics.create(call.request.name ?? '', call.request.queues_per_broker, 'admin', call.request.mode ?? '');
      return { status: v1Ok(outcome.created ? 'created' : 'exists with the same settings'), topic: topicConfigToWire(outcome.topic), created: outcome.created };
    }),
    ListTopics: unary<unknown, ListTopicsReplyMsg>(logger, 'ListTopics', async () => {
      const topics = await ctx.topics.list();
      return { status: v1Ok(), topics: topics.map(topicConfigToWire) };
    }),
    ClusterStatus: unary<unknown, ClusterStatusReplyMsg>(logger, 'ClusterStatus', async () => {
      const topics = await ctx.topics.list();
      let routers: RouterRecord[] = [];
      try {
        routers = await ctx.store.listRouters(ROUTER_LIST_WINDOW_MS);
      } catch (err) {
        logger.debug({ err }, 'cannot list routers');
      }
      const now = Date.now();
      return {
        status: v1Ok(),
        router_name: ctx.name,
        room: ctx.room,
        brokers: ctx.brokers.list().map(brokerViewToWire),
        topic_count: topics.length,
        routers: routers.map((r): RouterViewMsg => ({ name: r.name, room: r.room, endpoint: r.endpoint, last_seen_ms: r.lastSeenMs, alive: now - r.lastSeenMs <= ROUTER_ALIVE_MS })),
        control_store: ctx.store.description,
        control_store_health: describeHealth(ctx.store.health()),
      };
    }),
  };
}

/** `healthy` or `degraded: <reason>`, as ClusterStatus reports it. */
export function describeHealth(health: StoreHealth): string {
  return health.state === 'healthy' ? 'healthy' : `degraded: ${health.reason}`;
}
