import type { BrokerHeartbeatReplyMsg } from '@roomq/protocol';
import type { BrokerView } from './broker-state.js';
import type { ControlSnapshot } from './control-cache.js';
import { groupControlToWire, roomControlToWire } from './control-wire.js';
import type { StoreHealth } from './control-store.js';

/** How long a broker may keep taking writes on one reply; the broker caps it at its own writeLeaseMs. */
export const LEASE_GRANT_MS = 60_000;

/**
 * The control part of a heartbeat reply: the write lease with this router's room and whether it reads the
 * shared control state (the broker's WriteLease decides from these whether it is cut off), every room's state,
 * the broker's group leadership, and where the group's members listen (so a member can follow an acting master
 * it was not configured to follow).
 */
export function brokerControlReply(routerRoom: string, group: string, control: ControlSnapshot, health: StoreHealth, brokers: readonly BrokerView[]): Partial<BrokerHeartbeatReplyMsg> {
  const g = control.groups.get(group);
  return {
    lease_ms: LEASE_GRANT_MS,
    control_healthy: health.state === 'healthy',
    router_room: routerRoom,
    rooms: [...control.rooms.values()].map(roomControlToWire),
    ...(g ? { group: groupControlToWire(g) } : {}),
    members: brokers
      .filter((v) => v.state.group === group)
      .map((v) => ({ name: v.state.name, room: v.state.room, endpoint: v.state.endpoint, alive: v.alive, flushed_offset: v.state.flushedOffset, configured_role: v.state.configuredRole })),
    control_known: true,
  };
}
