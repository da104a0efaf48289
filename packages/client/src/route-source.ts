import type { GetRouteReplyMsg } from '@roomq/protocol';
import type { RouterClient } from './router-client.js';
import { routeFromRouteService, type TopicRoute } from './topic-route.js';

/** Where routes come from; the producer and consumers take one so their logic can run without routers. */
export interface RouteSource {
  queryRoute(topic: string, signal?: AbortSignal): Promise<TopicRoute>;
}

/**
 * Routes from roomq RouteService.GetRoute: per queue its room and serving instance, and which queues this
 * client (by the room in its client ID) should write to.
 */
export class RouteServiceSource implements RouteSource {
  constructor(private readonly router: RouterClient) {}

  async queryRoute(topic: string, signal?: AbortSignal): Promise<TopicRoute> {
    const reply = await this.router.call<GetRouteReplyMsg>('GetRoute', { topic }, { topic }, signal);
    return routeFromRouteService(topic, reply);
  }
}
