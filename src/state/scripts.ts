/**
 * The Lua scripts behind every fenced write (docs/design.md §6). Each runs atomically on the Redis
 * server, so "check the fence, then write" can never interleave with a newer leader's
 * writes. Loaded with ioredis `defineCommand` (EVALSHA, falling back to EVAL on NOSCRIPT,
 * so a restarted Redis that lost its script cache needs nothing from us).
 *
 * Conventions:
 * - KEYS[1] of every fenced script is the fence and ARGV[1] the writer's term; the common
 *   prologue (FENCE_PROLOGUE) refuses a lower term and raises the fence on a higher one.
 * - Replies are arrays whose first element is a code (RESULT); `fence` is the fence after
 *   the script ran. Lua nil ends an array early, so absent strings are returned as ''.
 * - Opaque documents travel as JSON text made by the caller and are stored as given
 *   (never decoded here: cjson would rewrite numbers and escapes).
 * - Scripts that prune build entry keys from a prefix passed in ARGV. Those keys share the
 *   `{cluster}` hash tag of the declared keys, so in a Redis Cluster they live in the same
 *   slot and the script stays valid.
 */

/** Reply codes shared by the scripts (first element of every reply). */
export const RESULT = {
  OK: 1,
  /** outbox: already delivered or rejected on this channel */
  DONE: 2,
  FENCED: -1,
  /** alert state: expectedVersion did not match */
  CONFLICT: -2,
  /** outbox: claimed by another owner in the same term */
  HELD: -3,
  /** outbox check: the claim is not the caller's (another holder, or none) */
  LOST: -4,
} as const;

export interface ScriptDef {
  /** the ioredis command name it is defined as */
  readonly name: string;
  readonly numberOfKeys: number;
  readonly lua: string;
}

/**
 * Common head of every fenced script: KEYS[1] = fence, ARGV[1] = term.
 * Leaves the locals `term` and `fence` (the fence after the check) for the body.
 */
const FENCE_PROLOGUE = `
local term = tonumber(ARGV[1])
local fence = tonumber(redis.call('GET', KEYS[1]) or '0')
if term < fence then
  return {${RESULT.FENCED}, fence}
end
if term > fence then
  redis.call('SET', KEYS[1], ARGV[1])
  fence = term
end
`;

export const raiseFence: ScriptDef = {
  name: 'vigilRaiseFence',
  numberOfKeys: 1,
  lua: `--[[
  Raise the fence to a new leader's term.
  Input:
    KEYS[1] fence
    ARGV[1] term
  Output:
    {1, fence}   the fence is now >= term (raised if it was lower)
    {-1, fence}  fenced: a higher term exists
]]
${FENCE_PROLOGUE}
return {${RESULT.OK}, fence}
`,
};

export const restore: ScriptDef = {
  name: 'vigilRestore',
  numberOfKeys: 2,
  lua: `--[[
  Run by a client each time its connection becomes ready, and every probe interval while it
  is up (data can also vanish under a live connection: FLUSHALL, eviction). Puts back a
  fence Redis lost from the highest term this client has seen, and reads or creates the
  data-set epoch by which the client learns that data was lost. Writes only when a key is
  missing or behind, so running it often costs one round trip.
  Input:
    KEYS[1] fence
    KEYS[2] epoch
    ARGV[1] highest term this client has seen (0 if none)
    ARGV[2] a fresh epoch id, stored only if none exists
  Output:
    {fence, epoch}
]]
local seen = tonumber(ARGV[1])
local fence = tonumber(redis.call('GET', KEYS[1]) or '0')
if seen > fence then
  redis.call('SET', KEYS[1], ARGV[1])
  fence = seen
end
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  redis.call('SET', KEYS[2], ARGV[2])
  epoch = ARGV[2]
end
return {fence, epoch}
`,
};

export const claimNotification: ScriptDef = {
  name: 'vigilClaimNotification',
  numberOfKeys: 4,
  lua: `--[[
  Claim one notification for one channel before sending it (docs/design.md §4: claim, send, settle).
  Per-channel fields of the entry hash: c:<channel>:state (claimed|delivered|rejected),
  :term, :owner, :claimedAtMs, :settledAtMs, :attempts.
  Input:
    KEYS[1] fence
    KEYS[2] outbox entry hash (outbox:n:<id>)
    KEYS[3] outbox index zset
    KEYS[4] outbox pending zset
    ARGV[1] term
    ARGV[2] owner (node id)
    ARGV[3] channel name
    ARGV[4] notification id
    ARGV[5] now (epoch ms)
    ARGV[6] notification JSON (stored on the first claim)
  Output:
    {1, fence, attempt, prevTerm, prevOwner}  claimed; prev* describe the claim it replaced
                                              (0 and '' when there was none)
    {2, fence, outcome, term, owner}          done: already settled (delivered|rejected) by them
    {-3, fence, term, owner}                  held by another owner in the same term
    {-1, fence}                               fenced
]]
${FENCE_PROLOGUE}
local p = 'c:' .. ARGV[3] .. ':'
local rec = redis.call('HMGET', KEYS[2], p .. 'state', p .. 'term', p .. 'owner')
local state, prevTerm, prevOwner = rec[1], tonumber(rec[2] or '0'), rec[3] or ''
if state == 'delivered' or state == 'rejected' then
  return {${RESULT.DONE}, fence, state, prevTerm, prevOwner}
end
if state == 'claimed' and (prevTerm > term or (prevTerm == term and prevOwner ~= ARGV[2])) then
  return {${RESULT.HELD}, fence, prevTerm, prevOwner}
end
if state ~= 'claimed' then
  prevTerm, prevOwner = 0, ''
end
redis.call('HSETNX', KEYS[2], 'notification', ARGV[6])
redis.call('HSETNX', KEYS[2], 'createdAtMs', ARGV[5])
local attempt = redis.call('HINCRBY', KEYS[2], p .. 'attempts', 1)
redis.call('HSET', KEYS[2], p .. 'state', 'claimed', p .. 'term', ARGV[1], p .. 'owner', ARGV[2], p .. 'claimedAtMs', ARGV[5])
redis.call('ZADD', KEYS[3], 'NX', ARGV[5], ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[3] .. ' ' .. ARGV[4])
return {${RESULT.OK}, fence, attempt, prevTerm, prevOwner}
`,
};

export const settleNotification: ScriptDef = {
  name: 'vigilSettleNotification',
  numberOfKeys: 4,
  lua: `--[[
  Record the final outcome of one notification on one channel: delivered, or rejected for
  good by the receiver. Works with or without a prior claim (deliveries made while Redis was
  down are written this way when it returns). The first settle wins; later ones report it.
  Input:
    KEYS[1] fence
    KEYS[2] outbox entry hash (outbox:n:<id>)
    KEYS[3] outbox index zset
    KEYS[4] outbox pending zset
    ARGV[1] term
    ARGV[2] owner (node id)
    ARGV[3] channel name
    ARGV[4] notification id
    ARGV[5] now (epoch ms)
    ARGV[6] notification JSON (stored if the entry is new)
    ARGV[7] outcome: delivered | rejected
  Output:
    {1, fence}                        settled
    {2, fence, outcome, term, owner}  done: it had already been settled by them
    {-1, fence}                       fenced
]]
${FENCE_PROLOGUE}
local p = 'c:' .. ARGV[3] .. ':'
local rec = redis.call('HMGET', KEYS[2], p .. 'state', p .. 'term', p .. 'owner')
if rec[1] == 'delivered' or rec[1] == 'rejected' then
  return {${RESULT.DONE}, fence, rec[1], tonumber(rec[2] or '0'), rec[3] or ''}
end
redis.call('HSETNX', KEYS[2], 'notification', ARGV[6])
redis.call('HSETNX', KEYS[2], 'createdAtMs', ARGV[5])
redis.call('HSET', KEYS[2], p .. 'state', ARGV[7], p .. 'term', ARGV[1], p .. 'owner', ARGV[2], p .. 'settledAtMs', ARGV[5])
redis.call('ZADD', KEYS[3], 'NX', ARGV[5], ARGV[4])
redis.call('ZREM', KEYS[4], ARGV[3] .. ' ' .. ARGV[4])
return {${RESULT.OK}, fence}
`,
};

export const checkClaim: ScriptDef = {
  name: 'vigilCheckClaim',
  numberOfKeys: 2,
  lua: `--[[
  Read-only check, immediately before a send, that a claim is still the caller's: no higher
  term holds the fence, and the channel record is claimed by (term, owner), unsettled. Does
  not raise the fence (a check is not a write).
  Input:
    KEYS[1] fence
    KEYS[2] outbox entry hash (outbox:n:<id>)
    ARGV[1] term of the claim
    ARGV[2] owner (node id)
    ARGV[3] channel name
  Output:
    {1, fence}                        still claimed by the caller
    {2, fence, outcome, term, owner}  done: settled (delivered|rejected) by them
    {-4, fence, term, owner}          lost: claimed by another (0 and '' when no claim)
    {-1, fence}                       fenced
]]
local term = tonumber(ARGV[1])
local fence = tonumber(redis.call('GET', KEYS[1]) or '0')
if term < fence then
  return {${RESULT.FENCED}, fence}
end
local p = 'c:' .. ARGV[3] .. ':'
local rec = redis.call('HMGET', KEYS[2], p .. 'state', p .. 'term', p .. 'owner')
local state, holderTerm, holderOwner = rec[1], tonumber(rec[2] or '0'), rec[3] or ''
if state == 'delivered' or state == 'rejected' then
  return {${RESULT.DONE}, fence, state, holderTerm, holderOwner}
end
if state == 'claimed' and holderTerm == term and holderOwner == ARGV[2] then
  return {${RESULT.OK}, fence}
end
if state ~= 'claimed' then
  holderTerm, holderOwner = 0, ''
end
return {${RESULT.LOST}, fence, holderTerm, holderOwner}
`,
};

export const writeAlertState: ScriptDef = {
  name: 'vigilWriteAlertState',
  numberOfKeys: 3,
  lua: `--[[
  Write one alert-state document (opaque JSON), optionally compare-and-set on its version.
  Input:
    KEYS[1] fence
    KEYS[2] alerts hash (key → envelope JSON)
    KEYS[3] alerts:ver hash (key → version)
    ARGV[1] term
    ARGV[2] alert-state key
    ARGV[3] now (epoch ms)
    ARGV[4] document JSON
    ARGV[5] expected version, '' for none (0 = must be absent)
  Output:
    {1, fence, version}   written; version is the new one
    {-2, fence, version}  conflict: the current version is not the expected one
    {-1, fence}           fenced
]]
${FENCE_PROLOGUE}
local current = tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0')
if ARGV[5] ~= '' and tonumber(ARGV[5]) ~= current then
  return {${RESULT.CONFLICT}, fence, current}
end
local version = current + 1
redis.call('HSET', KEYS[3], ARGV[2], version)
redis.call('HSET', KEYS[2], ARGV[2],
  '{"version":' .. version .. ',"term":' .. ARGV[1] .. ',"updatedAtMs":' .. ARGV[3] .. ',"data":' .. ARGV[4] .. '}')
return {${RESULT.OK}, fence, version}
`,
};

export const deleteAlertState: ScriptDef = {
  name: 'vigilDeleteAlertState',
  numberOfKeys: 3,
  lua: `--[[
  Delete one alert-state document (its version restarts from 0).
  Input:
    KEYS[1] fence
    KEYS[2] alerts hash
    KEYS[3] alerts:ver hash
    ARGV[1] term
    ARGV[2] alert-state key
  Output:
    {1, fence, deleted}  deleted is 1 if it existed, else 0
    {-1, fence}          fenced
]]
${FENCE_PROLOGUE}
redis.call('HDEL', KEYS[3], ARGV[2])
return {${RESULT.OK}, fence, redis.call('HDEL', KEYS[2], ARGV[2])}
`,
};

export const appendJournal: ScriptDef = {
  name: 'vigilAppendJournal',
  numberOfKeys: 3,
  lua: `--[[
  Append one step to a plan's remediation journal (append-only).
  Input:
    KEYS[1] fence
    KEYS[2] journal list of the plan (journal:<plan id>)
    KEYS[3] journals index zset
    ARGV[1] term
    ARGV[2] plan id
    ARGV[3] time (epoch ms)
    ARGV[4] entry JSON (an envelope made by the caller)
  Output:
    {1, fence, seq}  appended; seq is its 1-based position
    {-1, fence}      fenced
]]
${FENCE_PROLOGUE}
local seq = redis.call('RPUSH', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
return {${RESULT.OK}, fence, seq}
`,
};

export const writeWarmState: ScriptDef = {
  name: 'vigilWriteWarmState',
  numberOfKeys: 2,
  lua: `--[[
  Replace the warm-state document a new leader reads (opaque JSON).
  Input:
    KEYS[1] fence
    KEYS[2] warm hash (fields: version, doc)
    ARGV[1] term
    ARGV[2] now (epoch ms)
    ARGV[3] document JSON
  Output:
    {1, fence, version}  written
    {-1, fence}          fenced
]]
${FENCE_PROLOGUE}
local version = redis.call('HINCRBY', KEYS[2], 'version', 1)
redis.call('HSET', KEYS[2], 'doc',
  '{"version":' .. version .. ',"term":' .. ARGV[1] .. ',"updatedAtMs":' .. ARGV[2] .. ',"data":' .. ARGV[3] .. '}')
return {${RESULT.OK}, fence, version}
`,
};

export const appendEvent: ScriptDef = {
  name: 'vigilAppendEvent',
  numberOfKeys: 2,
  lua: `--[[
  Append one event to the capped events stream (the failover timeline, /api/v1/events).
  Fenced like every other write, so a deposed leader's late events never land in the
  timeline beside its successor's. The stream id is the server's ('*'); Redis 5+ replicates
  the effect, not the script, so a non-deterministic id is allowed here.
  Input:
    KEYS[1] fence
    KEYS[2] events stream
    ARGV[1] term
    ARGV[2] stream cap (trimmed approximately: MAXLEN ~)
    ARGV[3] event type
    ARGV[4] time (epoch ms, the writer's clock)
    ARGV[5] node id
    ARGV[6] data JSON
  Output:
    {1, fence, id}  appended; id is its stream id
    {-1, fence}     fenced
]]
${FENCE_PROLOGUE}
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*',
  'type', ARGV[3], 'timeMs', ARGV[4], 'nodeId', ARGV[5], 'term', ARGV[1], 'data', ARGV[6])
return {${RESULT.OK}, fence, id}
`,
};

export const appendFailover: ScriptDef = {
  name: 'vigilAppendFailover',
  numberOfKeys: 3,
  lua: `--[[
  Add one entry at the head of the failover journal (/api/v1/failovers), a list kept newest
  first and trimmed to a cap. Fenced: only the current term's leader adds to it.
  Input:
    KEYS[1] fence
    KEYS[2] failovers list
    KEYS[3] failovers:seq counter
    ARGV[1] term
    ARGV[2] cap (entries kept)
    ARGV[3] time (epoch ms, the writer's clock)
    ARGV[4] entry JSON without its id: the text after '{"id":"<id>",' (made by the caller)
  Output:
    {1, fence, id}  added; id is "<time>-<seq>"
    {-1, fence}     fenced
]]
${FENCE_PROLOGUE}
local seq = redis.call('INCR', KEYS[3])
local id = ARGV[3] .. '-' .. seq
redis.call('LPUSH', KEYS[2], '{"id":"' .. id .. '",' .. ARGV[4])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[2]) - 1)
return {${RESULT.OK}, fence, id}
`,
};

export const pruneOutbox: ScriptDef = {
  name: 'vigilPruneOutbox',
  numberOfKeys: 2,
  lua: `--[[
  Forget up to a limit of notifications first claimed before a time, with their pending
  members. Not fenced: it removes only what retention has made irrelevant.
  Input:
    KEYS[1] outbox index zset
    KEYS[2] outbox pending zset
    ARGV[1] before (epoch ms, exclusive)
    ARGV[2] limit
    ARGV[3] entry key prefix (outbox:n:)
  Output:
    number of notifications removed (call again while it equals the limit)
]]
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  local entry = ARGV[3] .. id
  for _, field in ipairs(redis.call('HKEYS', entry)) do
    local channel = string.match(field, '^c:(.+):state$')
    if channel then
      redis.call('ZREM', KEYS[2], channel .. ' ' .. id)
    end
  end
  redis.call('DEL', entry)
  redis.call('ZREM', KEYS[1], id)
end
return #ids
`,
};

export const pruneJournals: ScriptDef = {
  name: 'vigilPruneJournals',
  numberOfKeys: 1,
  lua: `--[[
  Forget up to a limit of journals last appended to before a time. Not fenced.
  Input:
    KEYS[1] journals index zset
    ARGV[1] before (epoch ms, exclusive)
    ARGV[2] limit
    ARGV[3] journal key prefix (journal:)
  Output:
    number of journals removed (call again while it equals the limit)
]]
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call('DEL', ARGV[3] .. id)
  redis.call('ZREM', KEYS[1], id)
end
return #ids
`,
};

export const ALL_SCRIPTS: readonly ScriptDef[] = [
  raiseFence,
  restore,
  claimNotification,
  settleNotification,
  checkClaim,
  writeAlertState,
  deleteAlertState,
  appendJournal,
  appendEvent,
  appendFailover,
  writeWarmState,
  pruneOutbox,
  pruneJournals,
];
