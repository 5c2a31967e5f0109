-- Shared by every script: prepended to each one when it is loaded.
-- ARGV[1] is always the key prefix. Every time arrives from the caller as a string
-- (the caller's clock decides what "now" is) and is stored as it came, because a Lua
-- number turned back into a string keeps only 14 digits.
--
-- Keys, under the prefix P:
--   P:job:<m>        hash   a waiting or running job (m = its id, zero-padded)
--   P:q:<queue>      zset   waiting and delayed jobs of a queue, scored by available_at
--   P:leases         zset   running jobs, scored by lease expiry
--   P:tokens         hash   lease token -> m
--   P:uuid           hash   uuid -> m, for every stored job
--   P:unique         hash   unique key -> m of the job holding it
--   P:running        hash   queue -> running jobs
--   P:queues         set    every queue that ever held a job
--   P:fjob:<id>      hash   a failed job
--   P:failed         zset   failed job ids (scored by id), P:failed_at (by failure time)
--   P:failed_uuid    hash   uuid -> failed id;  P:failed_count  hash  queue -> failed jobs
--   P:markers        hash   restart / pause markers
--   P:seq:job, P:seq:failed   id counters;   P:wake   the wake-up channel
local P = ARGV[1]

local function k(...)
    return P .. ':' .. table.concat({...}, ':')
end

local function member(id)
    return string.format('%015d', id)
end

local function wake()
    redis.call('PUBLISH', k('wake'), '1')
end

-- The job held by a lease token, or nil when the token no longer holds any.
local function held(token)
    local m = redis.call('HGET', k('tokens'), token)
    if not m then
        return nil
    end
    local job = k('job', m)
    if redis.call('HGET', job, 'lease_token') ~= token then
        return nil
    end
    return m, job
end

-- A running job loses its lease and is ready again (its available_at is the caller's).
local function unlease(m, job, queue)
    local token = redis.call('HGET', job, 'lease_token')
    if token then
        redis.call('HDEL', k('tokens'), token)
    end
    redis.call('HDEL', job, 'lease_token', 'lease_expires_at', 'worker', 'reserved_at')
    redis.call('HSET', job, 'state', 'ready')
    redis.call('ZREM', k('leases'), m)
    redis.call('HINCRBY', k('running'), queue, -1)
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
-- writes to a hash about to go): this runs once per job.
local function complete(token)
    local m, job = held(token)
    if not m then
        return 0
    end
    local queue, uuid, key = unpack(redis.call('HMGET', job, 'queue', 'uuid', 'unique_key'))
    redis.call('HDEL', k('tokens'), token)
    redis.call('ZREM', k('leases'), m)
    redis.call('HINCRBY', k('running'), queue, -1)
    redis.call('HDEL', k('uuid'), uuid)
    if key and redis.call('HGET', k('unique'), key) == m then
        redis.call('HDEL', k('unique'), key)
    end
    redis.call('DEL', job)
    return 1
end

-- Are the markers exactly the n name, value pairs in ARGV[first ...]? Values compare as
-- numbers: the caller sends back, as a float, what it read from here.
local function markers_are(first, n)
    if redis.call('HLEN', k('markers')) ~= n then
        return false
    end
    for i = first, first + 2 * n - 1, 2 do
        local value = redis.call('HGET', k('markers'), ARGV[i])
        if not value or tonumber(value) ~= tonumber(ARGV[i + 1]) then
            return false
        end
    end
    return true
end

-- Every job whose lease expired is ready again (its worker died or froze); then up to
-- `limit` jobs are reserved, queue by queue in strict priority order, oldest first,
-- skipping paused queues. Each reservation counts an attempt. ARGV[first_token ...]
-- hold one fresh lease token per job, ARGV[first_queue ...] the queues.
-- Returns 8 fields per job: m, uuid, queue, payload, attempts, exceptions, created_at, token.
local function claim(now, worker, expires, limit, first_token, first_queue)
    for _, m in ipairs(redis.call('ZRANGEBYSCORE', k('leases'), '-inf', now)) do
        local job = k('job', m)
        local queue, available_at = unpack(redis.call('HMGET', job, 'queue', 'available_at'))
        unlease(m, job, queue)
        redis.call('ZADD', k('q', queue), available_at, m)
    end
    local out = {}
    local taken = 0
    for qi = first_queue, #ARGV do
        if taken >= limit then
            break
        end
        local queue = ARGV[qi]
        if redis.call('HEXISTS', k('markers'), 'pause:' .. queue) == 0 then
            local ready = redis.call('ZRANGEBYSCORE', k('q', queue), '-inf', now,
                'LIMIT', 0, limit - taken)
            for _, m in ipairs(ready) do
                local job = k('job', m)
                local token = ARGV[first_token + taken]
                redis.call('ZREM', k('q', queue), m)
                local attempts, uuid, payload, exceptions, created_at = unpack(redis.call(
                    'HMGET', job, 'attempts', 'uuid', 'payload', 'exceptions', 'created_at'))
                attempts = tonumber(attempts) + 1
                redis.call('HSET', job, 'attempts', attempts, 'state', 'running',
                    'lease_token', token, 'lease_expires_at', expires, 'worker', worker,
                    'reserved_at', now)
                redis.call('ZADD', k('leases'), expires, m)
                redis.call('HSET', k('tokens'), token, m)
                redis.call('HINCRBY', k('running'), queue, 1)
                for _, v in ipairs({m, uuid, queue, payload, attempts, exceptions, created_at,
                                    token}) do
                    out[#out + 1] = v
                end
                taken = taken + 1
            end
        end
    end
    return out
end
