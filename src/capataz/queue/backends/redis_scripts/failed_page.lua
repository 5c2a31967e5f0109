-- failed_page(P, after_id, limit or -1) -> 7 fields per failed job, by id
local ids = redis.call('ZRANGEBYSCORE', k('failed'), '(' .. ARGV[2], '+inf', 'LIMIT', 0, ARGV[3])
local out = {}
for _, id in ipairs(ids) do
    local row = failed_row(id)
    if row then
        for _, v in ipairs(row) do
            out[#out + 1] = v
        end
    end
end
return out
