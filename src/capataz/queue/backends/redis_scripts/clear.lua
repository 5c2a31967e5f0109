-- clear(P, queue) -> jobs deleted: the queue's waiting and delayed ones; running jobs finish
local zkey = k('q', ARGV[2])
local doomed = redis.call('ZRANGE', zkey, 0, -1)
for _, m in ipairs(doomed) do
    forget_job(m, k('job', m))
end
redis.call('DEL', zkey)
return #doomed
