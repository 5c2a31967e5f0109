-- retry_failed(P, now, id...) -> [id, uuid]... of the jobs put back on their queues
-- Attempts start again at 0. A failed job whose uuid is stored again stays failed.
local out = {}
for i = 3, #ARGV do
    local id = ARGV[i]
    local uuid, queue, payload = unpack(redis.call('HMGET', k('fjob', id), 'uuid', 'queue', 'payload'))
    if uuid and not redis.call('HGET', k('uuid'), uuid) then
        new_job(uuid, queue, payload, ARGV[2], ARGV[2])
        remove_failed(id)
        out[#out + 1] = id
        out[#out + 1] = uuid
    end
end
if #out > 0 then
    wake()
end
return out
