-- forget_failed(P, id...) -> how many of these failed jobs existed (now deleted)
local count = 0
for i = 2, #ARGV do
    count = count + remove_failed(ARGV[i])
end
return count
