import { describe, expect, it } from 'vitest';
import { assignQueues, type AssignableQueue, type AssignmentMember } from '../src/room-assignment.js';

const queues = (room: string, group: string, count: number): AssignableQueue[] =>
  Array.from({ length: count }, (_, queueId) => ({ room, brokerGroup: group, queueId }));
const member = (clientId: string, room: string): AssignmentMember => ({ clientId, room });
const label = (q: AssignableQueue) => `${q.brokerGroup}:${q.queueId}`;
const table = (result: Map<string, AssignableQueue[]>) => Object.fromEntries([...result].map(([id, qs]) => [id, qs.map(label)]));

const twoRooms = [...queues('dc1', 'broker-a', 4), ...queues('dc2', 'broker-b', 4)];

describe('assignQueues', () => {
  it("gives each room's queues to that room's members", () => {
    const result = assignQueues([member('dc1@a@1@1', 'dc1'), member('dc1@b@1@1', 'dc1'), member('dc2@c@1@1', 'dc2'), member('dc2@d@1@1', 'dc2')], twoRooms);
    expect(table(result)).toEqual({
      'dc1@a@1@1': ['broker-a:0', 'broker-a:2'],
      'dc1@b@1@1': ['broker-a:1', 'broker-a:3'],
      'dc2@c@1@1': ['broker-b:0', 'broker-b:2'],
      'dc2@d@1@1': ['broker-b:1', 'broker-b:3'],
    });
  });

  it('shares the queues of a room with no member among all members', () => {
    const result = assignQueues([member('dc1@a@1@1', 'dc1'), member('dc1@b@1@1', 'dc1')], twoRooms);
    expect(table(result)).toEqual({
      'dc1@a@1@1': ['broker-a:0', 'broker-a:2', 'broker-b:0', 'broker-b:2'],
      'dc1@b@1@1': ['broker-a:1', 'broker-a:3', 'broker-b:1', 'broker-b:3'],
    });
  });

  it('evens out loads with shared queues', () => {
    const result = assignQueues(
      [member('a', 'dc1'), member('b', 'dc1'), member('c', 'dc2')],
      [...queues('dc1', 'broker-a', 4), ...queues('dc2', 'broker-b', 4), ...queues('dc3', 'broker-c', 4)],
    );
    expect([...result.values()].map((q) => q.length)).toEqual([4, 4, 4]);
    expect(result.get('c')!.filter((q) => q.room === 'dc1')).toEqual([]);
    expect(result.get('a')!.filter((q) => q.room === 'dc2')).toEqual([]);
  });

  it('gives every queue to exactly one member', () => {
    const members = [member('x', 'dc1'), member('y', 'dc2'), member('z', 'dc2')];
    const all = [...queues('dc1', 'broker-a', 5), ...queues('dc2', 'broker-b', 3), ...queues('dc3', 'broker-c', 7)];
    const assigned = [...assignQueues(members, all).values()].flat().map(label).sort();
    expect(assigned).toEqual(all.map(label).sort());
  });

  it('answers the same whatever the input order, and counts a twice-reported member once', () => {
    const members = [member('dc2@c@1@1', 'dc2'), member('dc1@a@1@1', 'dc1'), member('dc1@b@1@1', 'dc1')];
    const expected = table(assignQueues(members, twoRooms));
    for (let i = 0; i < 20; i++) {
      const shuffledMembers = shuffle([...members, members[i % 3]!]);
      expect(table(assignQueues(shuffledMembers, shuffle(twoRooms)))).toEqual(expected);
    }
  });

  it('leaves members without queues when there are fewer queues than members', () => {
    const result = assignQueues([member('a', 'dc1'), member('b', 'dc1'), member('c', 'dc1')], queues('dc1', 'broker-a', 2));
    expect(table(result)).toEqual({ a: ['broker-a:0'], b: ['broker-a:1'], c: [] });
  });

  it('assigns nothing without members, and an empty list to members without queues', () => {
    expect(assignQueues([], twoRooms).size).toBe(0);
    expect(table(assignQueues([member('a', 'dc1')], []))).toEqual({ a: [] });
  });

  it("lets a member in a room without brokers take only shared queues", () => {
    const result = assignQueues([member('a', 'dc1'), member('z', 'dc9')], twoRooms);
    expect(table(result)).toEqual({
      a: ['broker-a:0', 'broker-a:1', 'broker-a:2', 'broker-a:3'],
      z: ['broker-b:0', 'broker-b:1', 'broker-b:2', 'broker-b:3'],
    });
  });
});

function shuffle<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
