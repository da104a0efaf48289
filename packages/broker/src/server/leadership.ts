import type { Logger } from 'pino';
import { RoomqError } from '@roomq/protocol';
import type { MessageStore } from '../store/index.js';
import { brokerName, type BrokerConfig } from './broker-config.js';
import { isRoomCut, type GroupControlView } from './group-control-view.js';
import type { ReplicationRole } from './replication-role.js';
import { roleTarget, sameTarget, type RoleTarget } from './role-target.js';
import type { WriteLease } from './write-lease.js';

/** Why writes are refused now; '' when this member takes them. */
export type Fence = '' | 'not-leader' | 'promoting' | 'room-cut' | 'frozen' | 'lease-expired' | 'stale-epoch';

type Phase = 'starting' | 'leading' | 'promoting' | 'following' | 'waiting';

const WRITABLE: { fence: Fence; reason: string } = { fence: '', reason: '' };

/**
 * Turns the group's control state into this member's role, one transition at a time:
 * - to lead: stop following, make the store a master, and — when this member's log has not reached the group's
 *   epoch — write the epoch marker at the current log end before any write of the new epoch (epoch-marker.ts);
 * - to follow: refuse writes at once, then follow the member roleTarget names (a rejoining member is cut back
 *   by its new upstream, keeping the cut in quarantine).
 * And decides, for every write, whether this member may take it (fence()).
 */
export class Leadership {
  private phase: Phase = 'starting';
  private applied: RoleTarget | undefined;
  private running: Promise<void> = Promise.resolve();
  private pending = false;
  private readonly self: string;
  private staleReason = '';

  constructor(
    private readonly config: BrokerConfig,
    private readonly store: MessageStore,
    private readonly role: ReplicationRole,
    private readonly control: GroupControlView,
    private readonly lease: WriteLease,
    private readonly logger: Logger,
    private readonly onChange: () => void,
  ) {
    this.self = brokerName(config);
  }

  /** The role this member acts in now, as heartbeats report it. */
  actingRole(): 'master' | 'slave' {
    return this.phase === 'leading' ? 'master' : 'slave';
  }

  /** Re-reads the control state and moves towards the role it asks for; transitions never overlap. */
  reconcile(): Promise<void> {
    if (this.pending) return this.running;
    this.pending = true;
    this.running = this.running.then(async () => {
      this.pending = false;
      const target = roleTarget(this.config, this.self, this.control.current, this.control.known);
      if (sameTarget(this.applied, target) && this.phase !== 'waiting') return;
      try {
        await this.apply(target);
        this.applied = target;
      } catch (err) {
        this.logger.error({ err, target }, 'role change failed; retrying with the next control update');
        this.applied = undefined;
      }
      this.onChange();
    });
    return this.running;
  }

  private async apply(target: RoleTarget): Promise<void> {
    if (target.kind === 'wait') {
      if (this.phase !== 'waiting') this.logger.info({ reason: target.reason }, 'not leading and nobody to follow yet; writes refused');
      this.phase = 'waiting';
      await this.role.stopFollowing();
      return;
    }
    if (target.kind === 'follow') {
      const was = this.phase;
      this.phase = 'following';
      await this.role.follow(target.upstream, target.direct);
      if (was !== 'following' || this.applied?.kind !== 'follow' || this.applied.upstream !== target.upstream) {
        this.logger.info({ from: was, upstream: target.upstream, leader: target.leader || undefined, epoch: this.store.currentEpoch() }, 'following the group leader');
      }
      return;
    }
    const own = this.store.currentEpoch();
    if (this.phase === 'leading' && (target.epoch === undefined || target.epoch === own)) {
      // Same epoch, another set of replicas (a room was cut or restored): only the sync gate changes.
      this.role.setChain(target.chain);
      this.logger.info({ epoch: own, chain: target.chain }, 'replicas a sync write waits for changed');
      return;
    }
    if (target.epoch !== undefined && own > target.epoch) {
      // The router's state is older than this log: never lead on it (a newer leader may exist).
      this.phase = 'waiting';
      this.staleReason = `this member's log is at epoch ${own} but the control state says ${target.epoch}`;
      this.logger.warn({ epoch: own, controlEpoch: target.epoch }, 'control state is behind this log; waiting for a newer one before leading');
      return;
    }
    const was = this.phase;
    this.phase = 'promoting';
    this.onChange();
    await this.role.lead(target.chain);
    if (target.epoch !== undefined && own < target.epoch) {
      const start = this.store.logEndOffset();
      await this.store.markEpoch(target.epoch, start);
      this.logger.info({ epoch: target.epoch, previousEpoch: own, startOffset: start, acting: target.acting, chain: target.chain }, target.acting ? 'took over the group as acting master' : 'took over the group as its master');
    } else if (was !== 'leading') {
      this.logger.info({ epoch: own, chain: target.chain }, 'leading the group');
    }
    this.phase = 'leading';
  }

  /** Why this member must refuse a write now; '' when it may take it. */
  fence(): { fence: Fence; reason: string } {
    if (this.phase === 'promoting') return { fence: 'promoting', reason: `${this.self} is taking over its group; retry in a moment` };
    if (this.phase !== 'leading') {
      const leader = this.control.current.group?.leader;
      const why = this.staleReason && this.phase === 'waiting' ? ` (${this.staleReason})` : '';
      return { fence: 'not-leader', reason: `${this.self} does not lead group ${this.config.group}${leader ? `; ${leader} does` : ''}${why}` };
    }
    const snapshot = this.control.current;
    if (isRoomCut(snapshot, this.config.room)) {
      const room = snapshot.rooms.get(this.config.room)!;
      return { fence: 'room-cut', reason: `room ${this.config.room} is cut (version ${room.version}${room.changedBy ? `, by ${room.changedBy}` : ''}${room.reason ? `: ${room.reason}` : ''})` };
    }
    const group = snapshot.group;
    if (group && group.leader === this.self && group.frozen) return { fence: 'frozen', reason: `group ${this.config.group} is handing its writes over (failback in progress)` };
    const lease = this.lease.refusal();
    if (lease) return { fence: 'lease-expired', reason: lease };
    return WRITABLE;
  }

  /**
   * Whether a consumer's offset commit must be refused. A leader's commits are log records and fenced like
   * messages; a follower keeps commits in its overlay and forwards them to whoever leads, so it takes them.
   * A member that waits with its store still a master (a configured master restarting, not yet told whether it
   * still leads) refuses them: the commit would go into a log the group may have replaced, to be cut on rejoin,
   * and the consumer's offset would go back. The SDK commits again on its next interval.
   */
  commitRefusal(): RoomqError | undefined {
    if (this.phase === 'leading' || this.phase === 'promoting') return this.writeRefusal();
    return this.store.role === 'master' ? this.writeRefusal() : undefined;
  }

  /** fence() as the error a producer gets. */
  writeRefusal(): RoomqError | undefined {
    const { fence, reason } = this.fence();
    // Asked on every publish: the writable answer allocates nothing.
    if (fence === '') return undefined;
    const details = { broker: this.self, group: this.config.group, room: this.config.room, fence };
    switch (fence) {
      case 'room-cut':
        return new RoomqError('ROOM_CUT', `${reason}: ${this.self} takes no writes; send to the other room (your producer's routes move there)`, { details });
      case 'lease-expired':
        return new RoomqError('LEASE_EXPIRED', `${this.self} refuses writes: ${reason}; it may be cut off from the other room. Check the routers and the control store, or send to another broker`, { details });
      case 'not-leader':
        return new RoomqError('NOT_LEADER', `${reason}; send to its group's leader (your producer's routes name it)`, { details });
      default:
        return new RoomqError('UNAVAILABLE', `${reason}; send to another broker or retry`, { details });
    }
  }
}
