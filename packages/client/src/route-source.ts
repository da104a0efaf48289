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
  /** `producerGroup`: sent with every request, so a migrating topic routes this producer by its group. */
  constructor(
    private readonly router: RouterClient,
    private readonly producerGroup?: string,
  ) {}

  async queryRoute(topic: string, signal?: AbortSignal): Promise<TopicRoute> {
    const request = this.producerGroup ? { topic, producer_group: this.producerGroup } : { topic };
    const reply = await this.router.call<GetRouteReplyMsg>('GetRoute', request, { topic }, signal);
    return routeFromRouteService(topic, reply);
  }
}
