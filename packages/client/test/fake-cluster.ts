/**
 * Fake peers (test tier 2): routers and brokers on port 0 that speak the real protocol (roomq RouteService
 * GetRoute/GetAssignment/ClientHeartbeat/Watch, v2 QueryRoute, GetOffset, UpdateOffset, QueryOffset; roomq
 * DataService Publish and Subscribe; AdminService), store messages in arrays, and can be told to fail, hang,
 * corrupt or drop streams. Routers share a FakeControl: the control state two real routers share via Redis.
 */
import { Metadata, Server, ServerCredentials, status as GrpcStatus, type ServerUnaryCall, type ServerWritableStream, type sendUnaryData } from '@grpc/grpc-js';
import {
  RoomqError,
  V2_CODE,
  adminServiceDefinition,
  dataProtocol,
  listenSniffing,
  decodePublishRequest,
  encodeMessageSection,
  encodePublishResults,
  messageRecordSize,
  messagingServiceDefinition,
  okStatus,
  routeServiceDefinition,
  summarizeMessageSection,
  toWireStatus,
  writeMessageRecord,
  type ConsumerGroupInterestMsg,
  type ErrorCode,
  type RouteQueueMsg,
  type WatchEventMsg,
  type WatchRequestMsg,
  type PublishAckMsg,
  type PublishFrameMsg,
  type PublishResultEntry,
  type RecordsFrameMsg,
  type StatusMsg,
  type SubscribeRequestMsg,
  type PublishCall,
  type SniffingListener,
  type SubscribeCall,
} from '@roomq/protocol';

type Unary<Req = any, Res = any> = (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void;

/** Records per subscription frame. */
const FRAME_RECORDS = 16;

export interface StoredMessage {
  queueId: number;
  queueOffset: number;
  messageId: string;
  record: Buffer;
}

interface Subscriber {
  call: SubscribeCall & { destroy(): void };
  topic: string;
  queueId: number;
  next: number;
  writing: boolean;
}

export class FakeBroker {
  readonly server = new Server();
  port = 0;
  /** Broker group; `name` is the group too, for receipts that name it. */
  readonly group: string;
  readonly room: string;
  readonly memberId: number;
  /** topic → queues → records (index = queue offset). */
  readonly topics = new Map<string, StoredMessage[][]>();
  /** group|topic|queueId → committed offset. */
  readonly offsets = new Map<string, number>();
  /** Every UpdateOffset received, in order. */
  readonly offsetUpdates: { group: string; topic: string; queueId: number; offset: number }[] = [];
  /** Message IDs of every message received in a publish frame, stored or not. */
  readonly received: string[] = [];
  framesReceived = 0;
  /** Answer publish frames with this error (all of them while `failTimes` is undefined). */
  failPublish: ErrorCode | undefined;
  failTimes: number | undefined;
  /** Never acknowledge publish frames. */
  hang = false;
  /** Hold acknowledgements until releaseAcks(). */
  private heldAcks: (() => void)[] | undefined;
  /** GetOffset answers this instead of the stored offset (a stale replica after failover). */
  staleGetOffset: number | undefined;
  /** Acknowledge without storing or inspecting messages (throughput checks of the client). */
  discard = false;
  private discardOffsets: number[] = [];
  private physical = 0;
  private readonly subscribers = new Set<Subscriber>();
  private readonly publishCalls = new Set<PublishCall & { destroy(): void }>();
  private listener: SniffingListener | undefined;

  constructor(
    readonly name: string,
    topics: Record<string, number> = {},
    placement: { room?: string; memberId?: number } = {},
  ) {
    this.group = name;
    this.room = placement.room ?? 'dc1';
    this.memberId = placement.memberId ?? 0;
    for (const [topic, queues] of Object.entries(topics)) this.createTopic(topic, queues);
    this.server.addService(messagingServiceDefinition(), {
      GetOffset: this.getOffset,
      UpdateOffset: this.updateOffset,
      QueryOffset: this.queryOffset,
    } satisfies Record<string, Unary>);
  }

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The instance name, e.g. `broker-a/0@dc1`. */
  get instance(): string {
    return `${this.group}/${this.memberId}@${this.room}`;
  }

  async listen(port = 0): Promise<this> {
    // As a real broker's port: gRPC, and the SDK's data path (Publish, Subscribe) on its own connections.
    this.listener = await listenSniffing('127.0.0.1', port, this.server, [
      dataProtocol({ publish: (call) => this.publish(call as PublishCall & { destroy(): void }), subscribe: (call) => this.subscribe(call as SubscribeCall & { destroy(): void }), malformed: () => undefined }),
    ]);
    this.port = this.listener.port;
    return this;
  }

  createTopic(topic: string, queues: number): void {
    if (!this.topics.has(topic)) this.topics.set(topic, Array.from({ length: queues }, () => []));
  }

  messages(topic: string): StoredMessage[] {
    return (this.topics.get(topic) ?? []).flat();
  }

  holdAcks(): void {
    this.heldAcks ??= [];
  }

  releaseAcks(): void {
    const held = this.heldAcks ?? [];
    this.heldAcks = undefined;
    for (const send of held) send();
  }

  /** Appends a message directly, as if a producer had sent it. */
  append(topic: string, queueId: number, messageId: string, body: Buffer | string, extra: { keys?: string[]; tag?: string; properties?: Record<string, string> } = {}): StoredMessage {
    const section = encodeSection(topic, messageId, typeof body === 'string' ? Buffer.from(body) : body, extra);
    return this.store(topic, queueId, section, 0, section.length);
  }

  /** Flips a byte of a stored record's body so its CRC fails; returns a function that repairs it. */
  corrupt(topic: string, queueId: number, queueOffset: number): () => void {
    const record = this.topics.get(topic)![queueId]![queueOffset]!.record;
    const at = record.length - 1;
    record[at] = record[at]! ^ 0xff;
    return () => {
      record[at] = record[at]! ^ 0xff;
    };
  }

  /** Ends every subscription with UNAVAILABLE, as a broker restart would. */
  breakSubscriptions(): void {
    for (const sub of this.subscribers) sub.call.destroy();
    this.subscribers.clear();
  }

  subscriberCount(): number {
    return this.subscribers.size;
  }

  async close(): Promise<void> {
    await this.listener?.close();
    for (const call of this.publishCalls) call.destroy();
    this.breakSubscriptions();
    this.server.forceShutdown();
  }

  // -------------------------------------------------------------------------------------------------------

  private store(topic: string, queueId: number, section: Buffer, start: number, end: number): StoredMessage {
    const queue = this.topics.get(topic)![queueId]!;
    const summary = summarizeMessageSection(section, start, end);
    const record = Buffer.alloc(messageRecordSize(end - start));
    const queueOffset = queue.length;
    writeMessageRecord(record, 0, { physicalOffset: this.physical, storeTimestampMs: Date.now(), queueId, queueOffset }, section, start, end);
    this.physical += record.length;
    const stored = { queueId, queueOffset, messageId: summary.messageId, record };
    queue.push(stored);
    for (const sub of this.subscribers) if (sub.topic === topic && sub.queueId === queueId) this.pump(sub);
    return stored;
  }

  private publish(call: PublishCall & { destroy(): void }): void {
    this.publishCalls.add(call);
    call.on('error', () => this.publishCalls.delete(call));
    call.on('end', () => {
      this.publishCalls.delete(call);
      call.end();
    });
    call.on('data', (frame: PublishFrameMsg) => {
      this.framesReceived++;
      const entries = decodePublishRequest(frame.messages);
      if (this.discard) {
        const results = entries.map((e) => ({ queueId: e.queueId, queueOffset: (this.discardOffsets[e.queueId] = (this.discardOffsets[e.queueId] ?? -1) + 1), physicalOffset: (this.physical += e.section.length) }));
        call.write({ batch_id: frame.batch_id, status: okStatus() as StatusMsg, results: encodePublishResults(results) });
        return;
      }
      const summaries = entries.map((e) => summarizeMessageSection(e.section, 0, e.section.length));
      for (const s of summaries) this.received.push(s.messageId);
      if (this.hang) return;
      let ack: PublishAckMsg;
      const unknown = summaries.find((s, i) => !this.topics.get(s.topic)?.[entries[i]!.queueId]);
      if (this.failPublish && (this.failTimes === undefined || this.failTimes-- > 0)) {
        ack = { batch_id: frame.batch_id, status: wireStatus(new RoomqError(this.failPublish, `injected ${this.failPublish}`)) };
      } else if (unknown) {
        ack = { batch_id: frame.batch_id, status: wireStatus(new RoomqError('TOPIC_NOT_FOUND', `topic ${unknown.topic} not found`)) };
      } else {
        const results: PublishResultEntry[] = entries.map((e, i) => {
          const stored = this.store(summaries[i]!.topic, e.queueId, e.section, 0, e.section.length);
          return { queueId: e.queueId, queueOffset: stored.queueOffset, physicalOffset: this.physical };
        });
        ack = { batch_id: frame.batch_id, status: okStatus() as StatusMsg, results: encodePublishResults(results) };
      }
      if (this.heldAcks) this.heldAcks.push(() => call.write(ack));
      else call.write(ack);
    });
  }

  private subscribe(call: SubscribeCall & { destroy(): void }): void {
    const req = call.request;
    const queue = this.topics.get(req.topic)?.[req.queue_id];
    if (!queue) {
      call.write({ status: wireStatus(new RoomqError('TOPIC_NOT_FOUND', `topic ${req.topic} queue ${req.queue_id} not found`)) });
      call.end();
      return;
    }
    const offset = Number(req.offset);
    if (offset > queue.length) {
      call.write({ status: wireStatus(new RoomqError('INVALID_OFFSET', `offset ${offset} is beyond the queue end ${queue.length}`)), max_offset: queue.length });
      call.end();
      return;
    }
    const sub: Subscriber = { call, topic: req.topic, queueId: req.queue_id, next: offset, writing: false };
    this.subscribers.add(sub);
    call.on('cancelled', () => this.subscribers.delete(sub));
    call.on('error', () => this.subscribers.delete(sub));
    this.pump(sub);
  }

  /** Writes what the subscriber has not seen, honouring flow control (stops when write() returns false). */
  private pump(sub: Subscriber): void {
    if (sub.writing || !this.subscribers.has(sub)) return;
    const queue = this.topics.get(sub.topic)![sub.queueId]!;
    while (sub.next < queue.length && this.subscribers.has(sub)) {
      const batch = queue.slice(sub.next, sub.next + FRAME_RECORDS);
      sub.next += batch.length;
      const ok = sub.call.write({ status: okStatus() as StatusMsg, records: Buffer.concat(batch.map((m) => m.record)), next_offset: sub.next, max_offset: queue.length });
      if (!ok) {
        sub.writing = true;
        sub.call.once('drain', () => {
          sub.writing = false;
          this.pump(sub);
        });
        return;
      }
    }
  }

  private getOffset: Unary = (call, callback) => {
    const q = call.request.message_queue;
    const key = `${call.request.group.name}|${q.topic.name}|${q.id ?? 0}`;
    const offset = this.staleGetOffset ?? this.offsets.get(key);
    if (offset === undefined) callback(null, { status: { code: V2_CODE.OFFSET_NOT_FOUND, message: 'no offset for the group' } });
    else callback(null, { status: okStatus() as StatusMsg, offset });
  };

  private updateOffset: Unary = (call, callback) => {
    const q = call.request.message_queue;
    const update = { group: call.request.group.name, topic: q.topic.name, queueId: q.id ?? 0, offset: Number(call.request.offset) };
    this.offsetUpdates.push(update);
    const key = `${update.group}|${update.topic}|${update.queueId}`;
    this.offsets.set(key, Math.max(this.offsets.get(key) ?? 0, update.offset));
    callback(null, { status: okStatus() as StatusMsg });
  };

  private queryOffset: Unary = (call, callback) => {
    const q = call.request.message_queue;
    const queue = this.topics.get(q.topic.name)?.[q.id ?? 0];
    if (!queue) return callback(null, { status: wireStatus(new RoomqError('TOPIC_NOT_FOUND', 'no such queue')) });
    callback(null, { status: okStatus() as StatusMsg, offset: call.request.query_offset_policy === 'END' ? queue.length : 0 });
  };
}

type Permission = 'READ_WRITE' | 'READ' | 'NONE';

interface Member {
  room: string;
  topics: Set<string>;
  lastSeenMs: number;
}

/** What a Watch stream was opened with. */
interface Watcher {
  call: ServerWritableStream<WatchRequestMsg, WatchEventMsg>;
  router: FakeRouter;
}

/**
 * The control state routers share (topic modes, permissions, group members) and the nearest-room logic of
 * the real router, simplified: producers write to the preferred room's writable brokers or spill to others;
 * each room's queues go to that room's live consumers, a room with none is shared among all.
 */
export class FakeControl {
  /** topic → mode (default active-active). */
  readonly modes = new Map<string, string>();
  /** Permission overrides per broker name. */
  readonly permissions = new Map<string, Permission>();
  /** group → clientId → member. */
  readonly members = new Map<string, Map<string, Member>>();
  readonly watchers = new Set<Watcher>();
  /** A member that did not heartbeat for this long is gone. */
  memberTimeoutMs = 3_000;
  /** The topic migration switch assignments report (GetAssignmentReply.migration_version). */
  migrationVersion = 0;
  /** Replaces the computed assignment: the queue keys (`broker#queueId`) a client owns. */
  assignmentOverride: ((topic: string, group: string, clientId: string) => string[] | undefined) | undefined;
  version = 1;
  private readonly sweeper: NodeJS.Timeout;

  constructor(readonly brokers: FakeBroker[]) {
    this.sweeper = setInterval(() => this.sweep(), 100);
    this.sweeper.unref();
  }

  setMode(topic: string, mode: string): void {
    this.modes.set(topic, mode);
    this.changed('route', topic);
  }

  setPermission(broker: string, permission: Permission): void {
    this.permissions.set(broker, permission);
    this.changed('route', '');
  }

  /** Announces a change to every Watch stream of every router. */
  changed(kind: 'route' | 'assignment', topic: string, group = ''): void {
    this.version++;
    for (const w of this.watchers) {
      if (w.router.silentWatch) continue;
      const req = w.call.request;
      if (kind === 'route' && topic && (req.topics ?? []).length > 0 && !req.topics!.includes(topic)) continue;
      if (kind === 'assignment' && group && !(req.groups ?? []).includes(group)) continue;
      w.call.write({ kind, topic, group, version: this.version });
    }
  }

  heartbeat(clientId: string, consumers: ConsumerGroupInterestMsg[]): void {
    const room = roomOf(clientId);
    // A group the client no longer names is one it left (a closing consumer's last beat names none).
    for (const [group, members] of this.members) {
      if (members.has(clientId) && !consumers.some((c) => c.group === group)) {
        members.delete(clientId);
        this.changed('assignment', '', group);
      }
    }
    for (const c of consumers) {
      let group = this.members.get(c.group);
      if (!group) this.members.set(c.group, (group = new Map()));
      const known = group.get(clientId);
      group.set(clientId, { room, topics: new Set(c.topics ?? []), lastSeenMs: Date.now() });
      if (!known) this.changed('assignment', '', c.group);
    }
  }

  liveMembers(group: string, topic: string): [string, Member][] {
    const now = Date.now();
    return [...(this.members.get(group) ?? [])].filter(([, m]) => now - m.lastSeenMs <= this.memberTimeoutMs && m.topics.has(topic)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  route(topic: string, clientRoom: string): { queues: RouteQueueMsg[]; preferredRoom: string; spilled: boolean; mode: string } | undefined {
    const brokers = this.brokers.filter((b) => b.topics.has(topic));
    if (brokers.length === 0) return undefined;
    const mode = this.modes.get(topic) ?? 'active-active';
    const preferredRoom = mode.startsWith('home:') ? mode.slice(5) : clientRoom;
    const canWrite = (b: FakeBroker): boolean => (this.permissions.get(b.name) ?? 'READ_WRITE') === 'READ_WRITE' && b.memberId === 0;
    const local = brokers.some((b) => canWrite(b) && b.room === preferredRoom);
    const spilled = !local && brokers.some(canWrite);
    const queues = brokers.flatMap((b) =>
      (b.topics.get(topic) ?? []).map((_q, queueId) => ({
        topic,
        queue_id: queueId,
        broker_group: b.group,
        broker_name: b.instance,
        room: b.room,
        endpoint: b.endpoint,
        writable: canWrite(b) && (b.room === preferredRoom || spilled),
        readable: (this.permissions.get(b.name) ?? 'READ_WRITE') !== 'NONE',
      })),
    );
    return { queues, preferredRoom, spilled, mode };
  }

  assignment(topic: string, group: string, clientId: string): { queues: RouteQueueMsg[]; members: number } | undefined {
    const route = this.route(topic, roomOf(clientId));
    if (!route) return undefined;
    const live = this.liveMembers(group, topic);
    const readable = route.queues.filter((q) => q.readable).sort((x, y) => (x.broker_group < y.broker_group ? -1 : x.broker_group > y.broker_group ? 1 : x.queue_id - y.queue_id));
    const override = this.assignmentOverride?.(topic, group, clientId);
    if (override) return { queues: readable.filter((q) => override.includes(`${q.broker_group}#${q.queue_id}`)), members: live.length };
    if (!live.some(([id]) => id === clientId)) return { queues: [], members: live.length };
    const mine: RouteQueueMsg[] = [];
    const rooms = [...new Set(readable.map((q) => q.room))];
    for (const room of rooms) {
      const inRoom = live.filter(([, m]) => m.room === room);
      const candidates = inRoom.length > 0 ? inRoom : live;
      readable
        .filter((q) => q.room === room)
        .forEach((q, i) => {
          if (candidates[i % candidates.length]![0] === clientId) mine.push(q);
        });
    }
    return { queues: mine, members: live.length };
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [group, members] of this.members) {
      for (const [clientId, m] of members) {
        if (now - m.lastSeenMs > this.memberTimeoutMs) {
          members.delete(clientId);
          this.changed('assignment', '', group);
        }
      }
    }
  }
}

export class FakeRouter {
  readonly server = new Server();
  port = 0;
  queryRouteCalls = 0;
  getRouteCalls = 0;
  getAssignmentCalls = 0;
  /** ClientHeartbeat requests received, in order. */
  readonly heartbeats: { clientId: string; consumers: ConsumerGroupInterestMsg[]; atMs: number }[] = [];
  lastMetadata: Metadata | undefined;
  /** Keep Watch streams open but push nothing (a router whose pub/sub is broken). */
  silentWatch = false;
  /** The room this router reports for clients whose ID carries none it knows (empty: take the ID's room). */
  placeClientsIn = '';
  readonly control: FakeControl;
  private readonly watches = new Set<Watcher>();

  constructor(
    readonly brokers: FakeBroker[],
    control?: FakeControl,
  ) {
    this.control = control ?? new FakeControl(brokers);
    this.server.addService(messagingServiceDefinition(), { QueryRoute: this.queryRoute } satisfies Record<string, Unary>);
    this.server.addService(routeServiceDefinition(), {
      GetRoute: this.getRoute,
      GetAssignment: this.getAssignment,
      ClientHeartbeat: this.clientHeartbeat,
      Watch: (call: ServerWritableStream<WatchRequestMsg, WatchEventMsg>) => this.watch(call),
    });
    this.server.addService(adminServiceDefinition(), {
      CreateTopic: ((call, callback) => {
        const existed = this.brokers.every((b) => b.topics.has(call.request.name));
        for (const b of this.brokers) b.createTopic(call.request.name, call.request.queues_per_broker || 4);
        callback(null, { status: okStatus() as StatusMsg, topic: { name: call.request.name, queues_per_broker: this.brokers[0]!.topics.get(call.request.name)!.length }, created: !existed });
      }) as Unary,
      ListTopics: ((_call, callback) => {
        const names = new Set(this.brokers.flatMap((b) => [...b.topics.keys()]));
        callback(null, { status: okStatus() as StatusMsg, topics: [...names].map((name) => ({ name, queues_per_broker: this.brokers[0]!.topics.get(name)?.length ?? 0 })) });
      }) as Unary,
      ClusterStatus: ((_call, callback) => {
        callback(null, {
          status: okStatus() as StatusMsg,
          router_name: 'fake-router',
          room: 'dc1',
          topic_count: new Set(this.brokers.flatMap((b) => [...b.topics.keys()])).size,
          brokers: this.brokers.map((b) => ({
            state: { identity: { name: b.instance, group: b.group, member_id: b.memberId, room: b.room, role: b.memberId === 0 ? 'MASTER' : 'SLAVE', endpoint: b.endpoint }, status: 'RUNNING', writable: true },
            last_heartbeat_ms: 1,
            alive: true,
          })),
        });
      }) as Unary,
    });
  }

  /** Permission overrides per broker name (shared with every router of the control). */
  get permissions(): Map<string, Permission> {
    return this.control.permissions;
  }

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  async listen(port = 0): Promise<this> {
    this.port = await new Promise<number>((resolve, reject) => this.server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    return this;
  }

  watchCount(): number {
    return this.watches.size;
  }

  /** Ends every Watch stream with UNAVAILABLE. */
  dropWatches(): void {
    for (const w of this.watches) {
      this.control.watchers.delete(w);
      w.call.emit('error', { code: GrpcStatus.UNAVAILABLE, details: 'router restarting' });
    }
    this.watches.clear();
  }

  async close(): Promise<void> {
    for (const w of this.watches) this.control.watchers.delete(w);
    this.watches.clear();
    this.server.forceShutdown();
    if (this.control.brokers === this.brokers) this.control.close();
  }

  private clientRoom(metadata: Metadata): string {
    if (this.placeClientsIn) return this.placeClientsIn;
    return roomOf(String(metadata.get('x-mq-client-id')[0] ?? ''));
  }

  private getRoute: Unary = (call, callback) => {
    this.getRouteCalls++;
    this.lastMetadata = call.metadata;
    const topic: string = call.request.topic;
    const clientRoom = this.clientRoom(call.metadata);
    const route = this.control.route(topic, clientRoom);
    if (!route) return callback(null, { status: wireStatus(new RoomqError('TOPIC_NOT_FOUND', `topic ${topic} does not exist`, { details: { topic } })) });
    callback(null, { status: okStatus() as StatusMsg, queues: route.queues, client_room: clientRoom, mode: route.mode, preferred_room: route.preferredRoom, spilled: route.spilled, version: this.control.version });
  };

  private getAssignment: Unary = (call, callback) => {
    this.getAssignmentCalls++;
    const { topic, group } = call.request as { topic: string; group: string };
    const clientId = String(call.metadata.get('x-mq-client-id')[0] ?? '');
    const assignment = this.control.assignment(topic, group, clientId);
    if (!assignment) return callback(null, { status: wireStatus(new RoomqError('TOPIC_NOT_FOUND', `topic ${topic} does not exist`, { details: { topic } })) });
    callback(null, { status: okStatus() as StatusMsg, queues: assignment.queues, version: this.control.version, members: assignment.members, migration_version: this.control.migrationVersion });
  };

  private clientHeartbeat: Unary = (call, callback) => {
    const clientId: string = call.request.client_id;
    const consumers: ConsumerGroupInterestMsg[] = call.request.consumers ?? [];
    this.heartbeats.push({ clientId, consumers, atMs: Date.now() });
    this.control.heartbeat(clientId, consumers);
    callback(null, { status: okStatus() as StatusMsg, client_room: this.clientRoom(call.metadata), heartbeat_interval_ms: 1000 });
  };

  private watch(call: ServerWritableStream<WatchRequestMsg, WatchEventMsg>): void {
    const w: Watcher = { call, router: this };
    this.watches.add(w);
    this.control.watchers.add(w);
    const forget = (): void => {
      this.watches.delete(w);
      this.control.watchers.delete(w);
    };
    call.on('cancelled', forget);
    call.on('error', forget);
    call.write({ kind: 'hello', version: this.control.version });
  }

  private queryRoute: Unary = (call, callback) => {
    this.queryRouteCalls++;
    this.lastMetadata = call.metadata;
    const topic: string = call.request.topic.name;
    const queues = this.brokers.flatMap((b) =>
      (b.topics.get(topic) ?? []).map((_q, id) => ({
        topic: { name: topic },
        id,
        permission: this.permissions.get(b.name) ?? 'READ_WRITE',
        broker: { name: b.name, id: 0, endpoints: { scheme: 'IPv4', addresses: [{ host: '127.0.0.1', port: b.port }] } },
      })),
    );
    if (queues.length === 0) callback(null, { status: wireStatus(new RoomqError('TOPIC_NOT_FOUND', `topic ${topic} does not exist`, { details: { topic } })) });
    else callback(null, { status: okStatus() as StatusMsg, message_queues: queues });
  };
}

/** The room part of a client ID `<room>@host@pid@n`. */
function roomOf(clientId: string): string {
  const at = clientId.indexOf('@');
  return at > 0 ? clientId.slice(0, at) : 'dc1';
}

export interface FakeCluster {
  /** The first router. */
  router: FakeRouter;
  routers: FakeRouter[];
  control: FakeControl;
  brokers: FakeBroker[];
  close: () => Promise<void>;
}

/**
 * Routers (one by default, sharing one control state) and brokers, each topic on every broker. A broker is
 * named `group` (room dc1) or `group@room`.
 */
export async function startCluster(brokerNames: string[], topics: Record<string, number>, options: { routers?: number } = {}): Promise<FakeCluster> {
  const brokers = await Promise.all(
    brokerNames.map((spec) => {
      const [name, room] = spec.split('@') as [string, string | undefined];
      return new FakeBroker(name, topics, { room: room ?? 'dc1' }).listen();
    }),
  );
  const control = new FakeControl(brokers);
  const routers = await Promise.all(Array.from({ length: options.routers ?? 1 }, () => new FakeRouter(brokers, control).listen()));
  return {
    router: routers[0]!,
    routers,
    control,
    brokers,
    close: async () => {
      control.close();
      await Promise.all([...routers.map((r) => r.close()), ...brokers.map((b) => b.close())]);
    },
  };
}

/** A `host:port` nothing listens on: a router that is down. */
export async function deadEndpoint(): Promise<string> {
  const server = new Server();
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  server.forceShutdown();
  return `127.0.0.1:${port}`;
}

/** Waits until `condition` holds, polling; fails with `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

let counter = 0;
/** A unique name per test, so tests never share topics or groups. */
export function uniqueName(prefix: string): string {
  counter++;
  return `${prefix}-${process.pid}-${counter}`;
}

function encodeSection(topic: string, messageId: string, body: Buffer, extra: { keys?: string[]; tag?: string; properties?: Record<string, string> }): Buffer {
  return encodeMessageSection({ topic, messageId, tag: extra.tag ?? '', keys: extra.keys ?? [], properties: extra.properties ?? {}, body, bornTimestampMs: Date.now() });
}

/** toWireStatus types `code` as number | string while roomq's StatusMsg says number; ours are numbers. */
function wireStatus(err: RoomqError): StatusMsg {
  return toWireStatus(err) as StatusMsg;
}
