import { RoomqError } from './errors.js';
import { validateRoomName } from './limits.js';

/**
 * How producers of a topic are routed. `home:<room>`: every producer writes to that room's masters, the way a
 * single-room deployment works. `active-active`: each producer writes to masters in its own room.
 */
export type TopicMode = { kind: 'active-active' } | { kind: 'home'; room: string };

export function parseTopicMode(text: string): TopicMode {
  if (text === 'active-active') return { kind: 'active-active' };
  if (text.startsWith('home:')) {
    const room = text.slice('home:'.length);
    try {
      validateRoomName(room);
    } catch (err) {
      throw new RoomqError('BAD_REQUEST', `topic mode ${JSON.stringify(text)} names an invalid room: ${(err as Error).message}`, { cause: err, details: { field: 'mode' } });
    }
    return { kind: 'home', room };
  }
  throw new RoomqError('BAD_REQUEST', `topic mode ${JSON.stringify(text)} is invalid: use active-active or home:<room>, e.g. home:dc1`, { details: { field: 'mode' } });
}

export function formatTopicMode(mode: TopicMode): string {
  return mode.kind === 'active-active' ? 'active-active' : `home:${mode.room}`;
}

/** The room whose masters a producer in `clientRoom` should write to. */
export function preferredWriteRoom(mode: TopicMode, clientRoom: string): string {
  return mode.kind === 'home' ? mode.room : clientRoom;
}
