-- Shared by every script: prepended to each one when it is loaded.
-- ARGV[1] is always the key prefix. Every time arrives from the caller as a string
-- (the caller's clock decides what "now" is) and is stored as it came, because a Lua
-- number turned back into a string keeps only 14 digits.
--
-- Keys, under the prefix P:
--   P:job:<m>        hash   a waiting or running job (m = its id, zero-padded)
--   P:q:<queue>      zset   waiting and delayed jobs of a queue, scored by available_at
--   P:leases         zset   running jobs, scored by lease expiry
--   P:uuid           hash   uuid -> m, for every stored job
--   P:unique         hash   unique key -> m of the job holding it
--   P:running        hash   queue -> running jobs
--   P:queues         set    every queue that ever held a job
--   P:fjob:<id>      hash   a failed job
--   P:failed         zset   failed job ids (scored by id), P:failed_at (by failure time)
--   P:failed_uuid    hash   uuid -> failed id;  P:failed_count  hash  queue -> failed jobs
--   P:markers        hash   restart / pause markers
--   P:seq:job, P:seq:failed   id counters;   P:wake   the wake-up channel
-- A lease token is "<m>.<nonce>": it names its job, so settling needs no lookup table,
-- and the nonce (fresh for every reservation) tells this lease from any earlier one.
--
-- The keys of the hot path are plain concatenations: k() builds a table per call.
local P = ARGV[1]
local LEASES, RUNNING, UUIDS, MARKERS = P .. ':leases', P .. ':running', P .. ':uuid', P .. ':markers'
local JOB, QUEUE = P .. ':job:', P .. ':q:'

local function k(...)
    return P .. ':' .. table.concat({...}, ':')
end

local function member(id)
    return string.format('%015d', id)
end

local function wake()
    redis.call('PUBLISH', k('wake'), '1')
end

-- The job a lease token names (its id and key), or nil for a token of no such form.
local function named(token)
    local m = string.match(token, '^(%d+)%.')
    if not m then
        return nil
    end
    return m, JOB .. m
end

-- The job held by a lease token, or nil when the token no longer holds it.
local function held(token)
    local m, job = named(token)
    if not m or redis.call('HGET', job, 'lease_token') ~= token then
        return nil
    end
    return m, job
end

-- A running job loses its lease and is ready again (its available_at is the caller's).
local function unlease(m, job, queue)
    redis.call('HDEL', job, 'lease_token', 'lease_expires_at', 'worker', 'reserved_at')
    redis.call('HSET', job, 'state', 'ready')
    redis.call('ZREM', LEASES, m)
    redis.call('HINCRBY', RUNNING, queue, -1)
end

-- Delete a stored job and what points at it (uuid, unique key).
local function forget_job(m, job)
    local uuid, key = unpack(redis.call('HMGET', job, 'uuid', 'unique_key'))
    if uuid then
        redis.call('HDEL', k('uuid'), uuid)
    end
    if key and redis.call('HGET', k('unique'), key) == m then
        redis.call('HDEL', k('unique'), key)
    end
    redis.call('DEL', job)
end

local function new_job(uuid, queue, payload, available_at, created_at)
    local m = member(redis.call('INCR', k('seq', 'job')))
    redis.call('HSET', k('job', m), 'uuid', uuid, 'queue', queue, 'payload', payload,
        'attempts', 0, 'exceptions', 0, 'created_at', created_at,
        'available_at', available_at, 'state', 'ready')
    redis.call('HSET', k('uuid'), uuid, m)
    redis.call('ZADD', k('q', queue), available_at, m)
    redis.call('SADD', k('queues'), queue)
    return m
end

local function remove_failed(id)
    local fjob = k('fjob', id)
    local uuid, queue = unpack(redis.call('HMGET', fjob, 'uuid', 'queue'))
    if not uuid then
        return 0
    end
    redis.call('HDEL', k('failed_uuid'), uuid)
    redis.call('HINCRBY', k('failed_count'), queue, -1)
    redis.call('ZREM', k('failed'), id)
    redis.call('ZREM', k('failed_at'), id)
    redis.call('DEL', fjob)
    return 1
end

local function failed_row(id)
    local row = redis.call('HMGET', k('fjob', id),
        'uuid', 'connection', 'queue', 'payload', 'exception', 'failed_at')
    if not row[1] then
        return nil
    end
    table.insert(row, 1, id)
    return row
end

-- Finish the job a token holds: 1, or 0 when the token no longer holds it. The job is
-- deleted, so only what points at it is cleaned up (unlease + forget_job, minus the
-- writes to a hash about to go): this runs once per job. With `handing`, the job's
-- queue keeps its running count and is returned second: the caller hands that count to
-- the job it reserves next from the same queue, or takes it back (see claim()).
local function complete(token, handing)
    local m, job = named(token)
    if not m then
        return 0
    end
    local holder, queue, uuid, key = unpack(redis.call('HMGET', job, 'lease_token', 'queue',
        'uuid', 'unique_key'))
    if holder ~= token then
        return 0
    end
    redis.call('ZREM', LEASES, m)
    if not handing then
        redis.call('HINCRBY', RUNNING, queue, -1)
    end
    redis.call('HDEL', UUIDS, uuid)
    if key and redis.call('HGET', k('unique'), key) == m then
        redis.call('HDEL', k('unique'), key)
    end
    redis.call('DEL', job)
    return 1, queue
end

-- Are the markers exactly the n name, value pairs in ARGV[first ...]? Values compare as
-- numbers: the caller sends back, as a float, what it read from here.
local function markers_are(first, n)
    if redis.call('HLEN', MARKERS) ~= n then
        return false
    end
    for i = first, first + 2 * n - 1, 2 do
        local value = redis.call('HGET', MARKERS, ARGV[i])
        if not value or tonumber(value) ~= tonumber(ARGV[i + 1]) then
            return false
        end
    end
    return true
end

-- Every job whose lease expired is ready again (its worker died or froze); then up to
-- `limit` jobs are reserved, queue by queue in strict priority order, oldest first,
-- skipping paused queues. Each reservation counts an attempt. ARGV[first_nonce ...]
-- hold one fresh nonce per job, ARGV[first_queue ...] the queues. `paused` is the set of
-- paused queues when the caller has just checked the markers (claim_next), else nil and
-- each queue's pause marker is read here. `handed` is a queue whose running count a job
-- completed in the same script left as it was (see complete()): a job reserved from it
-- takes that count over; otherwise it is given back here.
-- Returns 8 fields per job: m, uuid, queue, payload, attempts, exceptions, created_at, token.
local function claim(now, worker, expires, limit, first_nonce, first_queue, paused, handed)
    for _, m in ipairs(redis.call('ZRANGEBYSCORE', LEASES, '-inf', now)) do
        local job = JOB .. m
        local queue, available_at = unpack(redis.call('HMGET', job, 'queue', 'available_at'))
        unlease(m, job, queue)
        redis.call('ZADD', QUEUE .. queue, available_at, m)
    end
    local out = {}
    local taken = 0
    local due = tonumber(now)
    for qi = first_queue, #ARGV do
        if taken >= limit then
            break
        end
        local queue = ARGV[qi]
        local skip
        if paused then
            skip = paused[queue]
        else
            skip = redis.call('HEXISTS', MARKERS, 'pause:' .. queue) == 1
        end
        local zkey = QUEUE .. queue
        while not skip and taken < limit do
            -- The oldest job comes off at once; if it is not due yet (a delayed job, and
            -- then so is every other) it goes back with the score it had.
            local popped = redis.call('ZPOPMIN', zkey)
            local m = popped[1]
            if not m then
                break
            end
            if tonumber(popped[2]) > due then
                redis.call('ZADD', zkey, popped[2], m)
                break
            end
            local job = JOB .. m
            local token = m .. '.' .. ARGV[first_nonce + taken]
            local attempts, uuid, payload, exceptions, created_at = unpack(redis.call(
                'HMGET', job, 'attempts', 'uuid', 'payload', 'exceptions', 'created_at'))
            attempts = tonumber(attempts) + 1
            redis.call('HSET', job, 'attempts', attempts, 'state', 'running',
                'lease_token', token, 'lease_expires_at', expires, 'worker', worker,
                'reserved_at', now)
            redis.call('ZADD', LEASES, expires, m)
            if queue == handed then
                handed = nil
            else
                redis.call('HINCRBY', RUNNING, queue, 1)
            end
            local n = #out
            out[n + 1], out[n + 2], out[n + 3], out[n + 4] = m, uuid, queue, payload
            out[n + 5], out[n + 6], out[n + 7], out[n + 8] = attempts, exceptions, created_at,
                token
            taken = taken + 1
        end
    end
    if handed then
        redis.call('HINCRBY', RUNNING, handed, -1)
    end
    return out
end
