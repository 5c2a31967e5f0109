-- complete(P, token) -> 1 and the job is gone, or 0 when the token no longer holds it
return complete(ARGV[2])
