-- fail(P, token, exception, now, connection) -> 1 and the job is a failed job, or 0
-- A job failing again replaces its older failed entry (it gets a new failed id).
local m, job = held(ARGV[2])
if not m then
    return 0
end
local uuid, queue, payload = unpack(redis.call('HMGET', job, 'uuid', 'queue', 'payload'))
unlease(m, job, queue)
forget_job(m, job)
local old = redis.call('HGET', k('failed_uuid'), uuid)
if old then
    remove_failed(old)
end
local id = redis.call('INCR', k('seq', 'failed'))
redis.call('HSET', k('fjob', id), 'uuid', uuid, 'connection', ARGV[5], 'queue', queue,
    'payload', payload, 'exception', ARGV[3], 'failed_at', ARGV[4])
redis.call('ZADD', k('failed'), id, id)
redis.call('ZADD', k('failed_at'), ARGV[4], id)
redis.call('HSET', k('failed_uuid'), uuid, id)
redis.call('HINCRBY', k('failed_count'), queue, 1)
return 1
