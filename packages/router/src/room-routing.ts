import { RoomqError } from '@roomq/protocol';
import type { TopicConfig } from './control-store.js';
import { buildRoute, routeForRoom, type RoomRoute, type RouteQueue } from './route-builder.js';
import type { RouterContext } from './router-context.js';
import { producerMode } from './topic-migration.js';

export interface ClientRoute {
  topic: TopicConfig;
  clientRoom: string;
  route: RoomRoute;
  /** The router's version read before the route was built: a later change always has a higher one. */
  version: number;
  /** The topic migration switch the route follows; 0 when the topic is not migrating. */
  migrationVersion: number;
}

export interface ClientAddress {
  clientId: string | undefined;
  peer: string | undefined;
}

/**
 * The route of `topicName` as the client at `client` should see it (its room from placement, writable queues by
 * the topic mode, spill when needed). Shared by roomq GetRoute and v2 QueryRoute. Throws TOPIC_NOT_FOUND, or
 * UNAVAILABLE when no live broker serves the topic (never an empty route). While the topic migrates, producers
 * of admitted groups (`producerGroup`) are routed by the new mode, every other client by the old one.
 */
export async function routeForClient(ctx: RouterContext, topicName: string, client: ClientAddress, source: string, producerGroup?: string): Promise<ClientRoute> {
  const version = ctx.events.version;
  const topic = await ctx.topics.require(topicName, true, source);
  const placement = ctx.directory.place(client.clientId, client.peer);
  const queues = liveQueues(ctx, topic, placement.room);
  const { mode, migrationVersion } = producerMode(topic, await ctx.store.getMigration(topic.name), producerGroup);
  const route = routeForRoom(queues, mode, placement.room);
  ctx.spills.observe({
    topic: topic.name,
    clientRoom: placement.room,
    preferredRoom: route.preferredRoom,
    spilled: route.spilled,
    writableRooms: [...new Set(route.queues.filter((q) => q.permission === 'READ_WRITE').map((q) => q.room))].sort(),
  });
  ctx.logger.trace({ topic: topic.name, clientId: client.clientId, clientRoom: placement.room, placedBy: placement.source, spilled: route.spilled }, 'route answered');
  return { topic, clientRoom: placement.room, route, version, migrationVersion };
}

/**
 * Every queue of the topic on the live member serving its group (a master, or a replica for reads while the group
 * has no ready master); UNAVAILABLE when there is none. `clientRoom` breaks ties between equally caught-up
 * replicas; leave it out where every client must get the same answer (assignments).
 */
export function liveQueues(ctx: RouterContext, topic: TopicConfig, clientRoom?: string): RouteQueue[] {
  const queues = buildRoute({ topic: topic.name, queuesPerBroker: topic.queuesPerBroker, brokers: ctx.routable(), clientRoom, readHolds: ctx.readHolds() });
  if (queues.length === 0) {
    // Never an empty queue list: the official client waits forever for a broker it could open telemetry to.
    throw new RoomqError('UNAVAILABLE', `no live broker serves topic ${JSON.stringify(topic.name)}; start a broker or check \`roomq cluster status\``, {
      details: { topic: topic.name },
    });
  }
  return queues;
}
