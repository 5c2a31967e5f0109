-- push(P, now, [uuid, queue, payload, available_at, unique_key, unique_until]...) -> uuids
-- Stores the jobs atomically. A uuid already stored is not stored again; a job whose
-- unique key is held by a waiting or running job gets that job's uuid instead.
local now = tonumber(ARGV[2])
local out = {}
local stored = false
for i = 3, #ARGV, 6 do
    local uuid, queue, payload = ARGV[i], ARGV[i + 1], ARGV[i + 2]
    local available_at, key, until_ = ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
    local result = uuid
    if not redis.call('HGET', k('uuid'), uuid) then
        local holder = false
        if key ~= '' then
            local hm = redis.call('HGET', k('unique'), key)
            if hm then
                local hjob = k('job', hm)
                local h_uuid, h_until = unpack(redis.call('HMGET', hjob, 'uuid', 'unique_until'))
                if h_uuid and not (h_until and tonumber(h_until) <= now) then
                    holder = h_uuid
                else
                    -- the key's time ran out: it stops blocking
                    redis.call('HDEL', k('unique'), key)
                    redis.call('HDEL', hjob, 'unique_key', 'unique_until')
                end
            end
        end
        if holder then
            result = holder
        else
            local m = new_job(uuid, queue, payload, available_at, ARGV[2])
            if key ~= '' then
                redis.call('HSET', k('job', m), 'unique_key', key)
                redis.call('HSET', k('unique'), key, m)
                if until_ ~= '' then
                    redis.call('HSET', k('job', m), 'unique_until', until_)
                end
            end
            stored = true
        end
    end
    out[#out + 1] = result
end
if stored then
    wake()
end
return out
