-- claim(P, now, worker, lease_expires_at, limit, token * limit, queue...) -> jobs
-- First every job whose lease expired is ready again (its worker died or froze);
-- then up to `limit` jobs are reserved, queue by queue in strict priority order,
-- oldest first, skipping paused queues. Each reservation counts an attempt.
-- Returns 8 fields per job: m, uuid, queue, payload, attempts, exceptions, created_at, token.
local now, worker, expires, limit = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
for _, m in ipairs(redis.call('ZRANGEBYSCORE', k('leases'), '-inf', now)) do
    local job = k('job', m)
    local queue, available_at = unpack(redis.call('HMGET', job, 'queue', 'available_at'))
    unlease(m, job, queue)
    redis.call('ZADD', k('q', queue), available_at, m)
end
local out = {}
local taken = 0
for qi = 6 + limit, #ARGV do
    if taken >= limit then
        break
    end
    local queue = ARGV[qi]
    if redis.call('HEXISTS', k('markers'), 'pause:' .. queue) == 0 then
        local ready = redis.call('ZRANGEBYSCORE', k('q', queue), '-inf', now, 'LIMIT', 0, limit - taken)
        for _, m in ipairs(ready) do
            local job = k('job', m)
            local token = ARGV[6 + taken]
            redis.call('ZREM', k('q', queue), m)
            local attempts = redis.call('HINCRBY', job, 'attempts', 1)
            redis.call('HSET', job, 'state', 'running', 'lease_token', token,
                'lease_expires_at', expires, 'worker', worker, 'reserved_at', now)
            redis.call('ZADD', k('leases'), expires, m)
            redis.call('HSET', k('tokens'), token, m)
            redis.call('HINCRBY', k('running'), queue, 1)
            local uuid, payload, exceptions, created_at = unpack(
                redis.call('HMGET', job, 'uuid', 'payload', 'exceptions', 'created_at'))
            for _, v in ipairs({m, uuid, queue, payload, attempts, exceptions, created_at, token}) do
                out[#out + 1] = v
            end
            taken = taken + 1
        end
    end
end
return out
