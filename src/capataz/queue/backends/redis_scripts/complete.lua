-- complete(P, token) -> 1 and the job is gone, or 0 when the token no longer holds it
local m, job = held(ARGV[2])
if not m then
    return 0
end
unlease(m, job, redis.call('HGET', job, 'queue'))
forget_job(m, job)
return 1
