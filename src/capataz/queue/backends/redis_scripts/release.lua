-- release(P, token, available_at, exceptions_to_add) -> 1, or 0 when the token lost the job
local m, job = held(ARGV[2])
if not m then
    return 0
end
local queue = redis.call('HGET', job, 'queue')
unlease(m, job, queue)
redis.call('HSET', job, 'available_at', ARGV[3])
redis.call('HINCRBY', job, 'exceptions', tonumber(ARGV[4]))
redis.call('ZADD', k('q', queue), ARGV[3], m)
wake()
return 1
