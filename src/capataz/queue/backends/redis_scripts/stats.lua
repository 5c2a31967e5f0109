-- stats(P, now) -> 6 fields per queue with jobs: queue, waiting, delayed, running, failed,
-- and the available_at of the oldest waiting job ("" when none waits)
local now = ARGV[2]
local out = {}
for _, queue in ipairs(redis.call('SMEMBERS', k('queues'))) do
    local zkey = k('q', queue)
    local waiting = redis.call('ZCOUNT', zkey, '-inf', now)
    local delayed = redis.call('ZCOUNT', zkey, '(' .. now, '+inf')
    local running = tonumber(redis.call('HGET', k('running'), queue) or '0')
    local failed = tonumber(redis.call('HGET', k('failed_count'), queue) or '0')
    if waiting + delayed + running + failed > 0 then
        local oldest = redis.call('ZRANGEBYSCORE', zkey, '-inf', now, 'WITHSCORES', 'LIMIT', 0, 1)
        for _, v in ipairs({queue, waiting, delayed, running, failed, oldest[2] or ''}) do
            out[#out + 1] = v
        end
    end
end
return out
