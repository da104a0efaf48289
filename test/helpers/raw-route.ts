import { Metadata, credentials, type Client } from '@grpc/grpc-js';
import { routeServiceClient } from '@roomq/protocol';

/** RouteService calls as a client with a given client ID (its room prefix places it). */
export class RawRoute {
  private readonly client: Client & Record<string, any>;
  private readonly metadata = new Metadata();
  constructor(endpoint: string, clientId: string) {
    const Ctor = routeServiceClient();
    this.client = new Ctor(endpoint, credentials.createInsecure()) as never;
    this.metadata.set('x-mq-client-id', clientId);
  }
  private call(rpc: string, request: unknown): Promise<Record<string, any>> {
    return new Promise((resolve, reject) => {
      this.client[rpc](request, this.metadata, (err: Error | null, res: Record<string, any>) => (err ? reject(err) : resolve(res)));
    });
  }
  getRoute(topic: string): Promise<Record<string, any>> {
    return this.call('GetRoute', { topic });
  }
  close(): void {
    this.client.close();
  }
}
