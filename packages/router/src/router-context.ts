import type { Logger } from 'pino';
import type { BrokerRegistry } from './broker-registry.js';
import type { BrokerView } from './broker-state.js';
import type { ControlSnapshot } from './control-cache.js';
import type { ClientRegistry } from './client-registry.js';
import type { ControlStore } from './control-store.js';
import type { LocalGroupMembers } from './group-members.js';
import type { RoomDirectory } from './room-directory.js';
import type { RouteEvents } from './route-events.js';
import type { SpillTracker } from './spill-tracker.js';
import type { TopicCatalog } from './topic-catalog.js';
import type { WatchStream } from './watch-stream.js';

/** What the gRPC services of one router share. */
export interface RouterContext {
  name: string;
  room: string;
  heartbeatIntervalMs: number;
  topics: TopicCatalog;
  brokers: BrokerRegistry;
  /** Live brokers routes may use: cut rooms and replaced masters left out (routable-brokers.ts). */
  routable: () => BrokerView[];
  /** Rooms and group leaders as the router last read them. */
  control: () => ControlSnapshot;
  /** group → replica that keeps serving reads after its master returned, until the master has heard from it. */
  readHolds: () => ReadonlyMap<string, string>;
  clients: ClientRegistry;
  store: ControlStore;
  directory: RoomDirectory;
  events: RouteEvents;
  spills: SpillTracker;
  members: LocalGroupMembers;
  /** Local membership of these groups changed: publish them to the control store now. */
  membersChanged: (groups: string[]) => void;
  /** Open Watch streams, ended by close(). */
  watches: Set<WatchStream>;
  logger: Logger;
}
