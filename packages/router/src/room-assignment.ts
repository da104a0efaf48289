/**
 * Which consumer of a group owns which queue of a topic, by room:
 * - the queues of room R go to the group's live members in R;
 * - the queues of a room with no live member are shared among all live members of the group.
 *
 * Invariant: the answer depends only on the inputs as sets (members by client ID, queues by broker group and
 * queue id), never on their order, so every router computes the same assignment from the same shared state and
 * no queue is given to two consumers.
 *
 * Dealing is least-loaded: each queue, in (broker group, queue id) order, goes to the owner candidate holding the
 * fewest queues so far, ties broken by client ID. Rooms with members are dealt first, then the shared rooms, so
 * shared queues even out the members' loads.
 */

export interface AssignmentMember {
  clientId: string;
  room: string;
}

export interface AssignableQueue {
  /** Room of the broker that serves the queue. */
  room: string;
  brokerGroup: string;
  queueId: number;
}

/** Every member's queues (possibly none). Queues are left out only when the group has no member at all. */
export function assignQueues<Q extends AssignableQueue>(members: readonly AssignmentMember[], queues: readonly Q[]): Map<string, Q[]> {
  const owners = uniqueMembers(members);
  const result = new Map<string, Q[]>(owners.map((m) => [m.clientId, []]));
  if (owners.length === 0) return result;

  const queuesByRoom = new Map<string, Q[]>();
  for (const queue of queues) {
    const list = queuesByRoom.get(queue.room) ?? [];
    list.push(queue);
    queuesByRoom.set(queue.room, list);
  }
  const rooms = [...queuesByRoom.keys()].sort(compareText);
  const roomsWithMembers = new Set(owners.map((m) => m.room));
  const ordered = [...rooms.filter((r) => roomsWithMembers.has(r)), ...rooms.filter((r) => !roomsWithMembers.has(r))];

  for (const room of ordered) {
    const candidates = roomsWithMembers.has(room) ? owners.filter((m) => m.room === room) : owners;
    const roomQueues = [...queuesByRoom.get(room)!].sort(compareQueues);
    for (const queue of roomQueues) {
      let best = candidates[0]!;
      let bestLoad = result.get(best.clientId)!.length;
      for (const candidate of candidates) {
        const load = result.get(candidate.clientId)!.length;
        if (load < bestLoad) {
          best = candidate;
          bestLoad = load;
        }
      }
      result.get(best.clientId)!.push(queue);
    }
  }
  return result;
}

/** Sorted by client ID; a client listed twice (reported by two routers) counts once, in its smallest room. */
function uniqueMembers(members: readonly AssignmentMember[]): AssignmentMember[] {
  const sorted = [...members].sort((a, b) => compareText(a.clientId, b.clientId) || compareText(a.room, b.room));
  const unique: AssignmentMember[] = [];
  for (const member of sorted) {
    if (unique.length === 0 || unique[unique.length - 1]!.clientId !== member.clientId) unique.push({ clientId: member.clientId, room: member.room });
  }
  return unique;
}

function compareQueues(a: AssignableQueue, b: AssignableQueue): number {
  return compareText(a.brokerGroup, b.brokerGroup) || a.queueId - b.queueId;
}

/** Code-unit order, the same on every machine (localeCompare depends on the locale). */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
