-- flush_failed(P, failed_before or "+inf") -> failed jobs deleted
local count = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', k('failed_at'), '-inf', ARGV[2])) do
    count = count + remove_failed(id)
end
return count
