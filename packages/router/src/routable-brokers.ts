import type { BrokerView } from './broker-state.js';
import type { ControlSnapshot } from './control-cache.js';

/**
 * The brokers routes may use, given room cuts and group leadership:
 * - members in a cut room serve nobody — unless every live member of their group is in a cut room, and then
 *   only reads (consumers can still drain what only that room holds);
 * - a member claiming to be master of a group whose control record names another leader (an old master that
 *   has not yet heard it was replaced) serves nobody: reading from it could hand out bytes the new epoch cuts.
 * Everything else goes on to the usual choice (group-server.ts).
 */
export function routableBrokers(alive: readonly BrokerView[], control: ControlSnapshot): BrokerView[] {
  const cut = (room: string): boolean => control.rooms.get(room)?.status === 'cut';
  const groupsOutsideCut = new Set(alive.filter((v) => !cut(v.state.room)).map((v) => v.state.group));
  const out: BrokerView[] = [];
  for (const view of alive) {
    const { group, room, name, role } = view.state;
    const leader = control.groups.get(group)?.leader;
    if (role === 'master' && leader !== undefined && leader !== name) continue;
    if (cut(room)) {
      if (groupsOutsideCut.has(group)) continue;
      out.push({ ...view, state: { ...view.state, writable: false } });
      continue;
    }
    out.push(view);
  }
  return out;
}
