import type { BrokerRegistry } from './broker-registry.js';
import { compileRoomCidrs, placeClient, type CompiledCidr, type Placement, type RoomCidr } from './client-placement.js';

export interface RoomDirectoryOptions {
  routerRoom: string;
  /** Rooms named in the router's options (extra `rooms`, `roomByCidr`, the default topic mode's home). */
  configuredRooms: readonly string[];
  roomByCidr: readonly RoomCidr[];
  brokers: BrokerRegistry;
}

/**
 * The rooms this router knows of (configured, of registered brokers, of routers in the shared state) and
 * where a client belongs among them.
 */
export class RoomDirectory {
  private readonly configured: ReadonlySet<string>;
  private readonly cidrs: readonly CompiledCidr[];
  private routerRooms: ReadonlySet<string> = new Set();

  constructor(private readonly options: RoomDirectoryOptions) {
    this.configured = new Set([options.routerRoom, ...options.configuredRooms, ...options.roomByCidr.map((c) => c.room)]);
    this.cidrs = compileRoomCidrs(options.roomByCidr);
  }

  /** Rooms of the routers registered in the control store, refreshed by the owner. */
  setRouterRooms(rooms: Iterable<string>): void {
    this.routerRooms = new Set(rooms);
  }

  knownRooms(): Set<string> {
    const rooms = this.options.brokers.rooms();
    for (const room of this.configured) rooms.add(room);
    for (const room of this.routerRooms) rooms.add(room);
    return rooms;
  }

  place(clientId: string | undefined, peer: string | undefined): Placement {
    return placeClient({ clientId, peer, knownRooms: this.knownRooms(), cidrs: this.cidrs, routerRoom: this.options.routerRoom });
  }
}
