/**
 * The Lua scripts of the Redis control store: one per transition, so every multi-key change and its change
 * event happen atomically. Key layout (all under the store's keyPrefix, written `{p}` here):
 *
 *   {p}topics           hash   topic name → topic JSON {name, queuesPerBroker, mode, createdAtMs, version}
 *   {p}routers          hash   router name → {name, room, endpoint, lastSeenMs}
 *   {p}groups           set    groups that have members
 *   {p}members:<group>  hash   client ID → {clientId, room, router, lastSeenMs}
 *   {p}rooms            hash   room → room control JSON {room, status, version, changedAtMs, changedBy, reason}
 *   {p}group-control    hash   broker group → {group, epoch, leader, frozen, version, changedAtMs, changedBy, reason}
 *   {p}audit            list   audit entry JSON, newest first, trimmed to the retained count; `details` is
 *                              held as a JSON string (detailsJson) so cjson never turns {} into [] or back
 *   {p}audit-seq        string the last audit seq used
 *   {p}migrations       hash   topic → topic migration JSON (control-file-format.ts MigrationSchema)
 *   {p}changes          pub/sub channel of change events {kind, topic?, group?, origin}
 *
 * Topic JSON written by Node is stored as given; setTopicMode re-encodes it with cjson, whose 14 significant
 * digits hold millisecond timestamps exactly until the year 2286.
 */

export interface ScriptDefinition {
  numberOfKeys: number;
  lua: string;
}

/**
 * KEYS[1] topics hash
 * ARGV[1] topic name, ARGV[2] topic JSON (version 1), ARGV[3] changes channel, ARGV[4] change event JSON
 * Returns {1, stored JSON} when created, {0, stored JSON} when the topic existed (then nothing changes).
 */
export const CREATE_TOPIC_IF_ABSENT: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return {0, existing} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return {1, ARGV[2]}
`,
};

/**
 * KEYS[1] topics hash
 * ARGV[1] topic name, ARGV[2] new mode (formatTopicMode), ARGV[3] expected version, ARGV[4] changes channel,
 * ARGV[5] change event JSON
 * Returns {'ok', new JSON}, {'missing'} or {'conflict', current JSON}.
 */
export const SET_TOPIC_MODE: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if not existing then return {'missing'} end
local topic = cjson.decode(existing)
if topic.version ~= tonumber(ARGV[3]) then return {'conflict', existing} end
topic.mode = ARGV[2]
topic.version = topic.version + 1
local encoded = cjson.encode(topic)
redis.call('HSET', KEYS[1], ARGV[1], encoded)
redis.call('PUBLISH', ARGV[4], ARGV[5])
return {'ok', encoded}
`,
};

/**
 * KEYS[1] routers hash
 * ARGV[1] router name, ARGV[2] router JSON, ARGV[3] room, ARGV[4] endpoint, ARGV[5] prune cutoff (ms: routers
 * last seen before it are deleted), ARGV[6] changes channel, ARGV[7] change event JSON
 * Publishes only when a router appeared, moved (room, endpoint) or was pruned, not for timestamps.
 * Returns the whole routers hash as a flat field/value list.
 */
export const HEARTBEAT_ROUTER: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `
local changed = false
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then
  changed = true
else
  local record = cjson.decode(old)
  if record.room ~= ARGV[3] or record.endpoint ~= ARGV[4] then changed = true end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local cutoff = tonumber(ARGV[5])
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if all[i] ~= ARGV[1] and cjson.decode(all[i + 1]).lastSeenMs < cutoff then
    redis.call('HDEL', KEYS[1], all[i])
    changed = true
  end
end
if changed then redis.call('PUBLISH', ARGV[6], ARGV[7]) end
return redis.call('HGETALL', KEYS[1])
`,
};

/**
 * KEYS[1] members hash of the group, KEYS[2] groups set
 * ARGV[1] router name, ARGV[2] group, ARGV[3] prune cutoff (ms), ARGV[4] changes channel, ARGV[5] change event
 * JSON, then pairs ARGV[6], ARGV[7], ...: client ID, member JSON (with router = ARGV[1])
 * Replaces the members the router reported before with the given ones, leaving other routers' members, and
 * deletes members of any router last seen before the cutoff. Publishes only when the set of client IDs changed.
 * Returns the group's members hash after the change as a flat field/value list.
 */
export const PUBLISH_MEMBERS: ScriptDefinition = {
  numberOfKeys: 2,
  lua: `
local cutoff = tonumber(ARGV[3])
local before = {}
local beforeCount = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local member = cjson.decode(all[i + 1])
  before[all[i]] = member.room
  beforeCount = beforeCount + 1
  if member.router == ARGV[1] or member.lastSeenMs < cutoff then redis.call('HDEL', KEYS[1], all[i]) end
end
for i = 6, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
local after = redis.call('HGETALL', KEYS[1])
local changed = (#after / 2) ~= beforeCount
if not changed then
  for i = 1, #after, 2 do
    if before[after[i]] ~= cjson.decode(after[i + 1]).room then changed = true break end
  end
end
if #after == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], ARGV[2])
else
  redis.call('SADD', KEYS[2], ARGV[2])
end
if changed then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
return after
`,
};

/**
 * KEYS[1] rooms hash, KEYS[2] group-control hash, KEYS[3] audit list, KEYS[4] audit seq
 * ARGV[1] transition JSON {rooms: [{room, status, expectedVersion}], groups: [{group, epoch, leader, frozen,
 * expectedVersion}], by, action, target, reason, detailsJson, nowMs, retain}, ARGV[2] changes channel,
 * ARGV[3] change event JSON
 * Checks every expected version first (0: the record must not exist), then writes every record, appends one
 * audit entry and publishes once. Returns {'conflict', 'room'|'group', name, current version} and changes
 * nothing, or {'ok', audit JSON, room count, room JSON..., group JSON...}.
 */
export const APPLY_CONTROL: ScriptDefinition = {
  numberOfKeys: 4,
  lua: `
local t = cjson.decode(ARGV[1])
local rooms = t.rooms or {}
local groups = t.groups or {}
for i = 1, #rooms do
  local existing = redis.call('HGET', KEYS[1], rooms[i].room)
  local current = 0
  if existing then current = cjson.decode(existing).version end
  if current ~= rooms[i].expectedVersion then return {'conflict', 'room', rooms[i].room, current} end
end
for i = 1, #groups do
  local existing = redis.call('HGET', KEYS[2], groups[i].group)
  local current = 0
  if existing then current = cjson.decode(existing).version end
  if current ~= groups[i].expectedVersion then return {'conflict', 'group', groups[i].group, current} end
end
local reply = {'ok', '', #rooms}
local firstVersion = 0
for i = 1, #rooms do
  local r = rooms[i]
  local encoded = cjson.encode({room = r.room, status = r.status, version = r.expectedVersion + 1, changedAtMs = t.nowMs, changedBy = t.by, reason = t.reason})
  redis.call('HSET', KEYS[1], r.room, encoded)
  if firstVersion == 0 then firstVersion = r.expectedVersion + 1 end
  reply[#reply + 1] = encoded
end
for i = 1, #groups do
  local g = groups[i]
  local encoded = cjson.encode({group = g.group, epoch = g.epoch, leader = g.leader, frozen = g.frozen, version = g.expectedVersion + 1, changedAtMs = t.nowMs, changedBy = t.by, reason = t.reason})
  redis.call('HSET', KEYS[2], g.group, encoded)
  if firstVersion == 0 then firstVersion = g.expectedVersion + 1 end
  reply[#reply + 1] = encoded
end
local seq = redis.call('INCR', KEYS[4])
local audit = cjson.encode({seq = seq, atMs = t.nowMs, by = t.by, action = t.action, target = t.target, reason = t.reason, version = firstVersion, detailsJson = t.detailsJson})
redis.call('LPUSH', KEYS[3], audit)
redis.call('LTRIM', KEYS[3], 0, t.retain - 1)
reply[2] = audit
redis.call('PUBLISH', ARGV[2], ARGV[3])
return reply
`,
};

/**
 * KEYS[1] migrations hash, KEYS[2] topics hash, KEYS[3] audit list, KEYS[4] audit seq
 * ARGV[1] topic, ARGV[2] expected migration version (0: none), ARGV[3] the new migration JSON, ARGV[4] new topic
 * mode ('' = leave the topic alone), ARGV[5] expected topic version, ARGV[6] audit JSON without seq, ARGV[7]
 * retained audit entries, ARGV[8] changes channel, ARGV[9] change event JSON
 * Returns {'conflict', 'migration'|'topic', current version}, {'missing'} (no such topic) and changes nothing, or
 * {'ok', audit JSON, topic JSON or ''}.
 */
export const APPLY_MIGRATION: ScriptDefinition = {
  numberOfKeys: 4,
  lua: `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
local current = 0
if existing then current = cjson.decode(existing).version end
if current ~= tonumber(ARGV[2]) then return {'conflict', 'migration', current} end
local topicJson = ''
if ARGV[4] ~= '' then
  local stored = redis.call('HGET', KEYS[2], ARGV[1])
  if not stored then return {'missing'} end
  local topic = cjson.decode(stored)
  if topic.version ~= tonumber(ARGV[5]) then return {'conflict', 'topic', topic.version} end
  topic.mode = ARGV[4]
  topic.version = topic.version + 1
  topicJson = cjson.encode(topic)
  redis.call('HSET', KEYS[2], ARGV[1], topicJson)
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
local seq = redis.call('INCR', KEYS[4])
local audit = cjson.decode(ARGV[6])
audit.seq = seq
local encoded = cjson.encode(audit)
redis.call('LPUSH', KEYS[3], encoded)
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[7]) - 1)
redis.call('PUBLISH', ARGV[8], ARGV[9])
return {'ok', encoded, topicJson}
`,
};
