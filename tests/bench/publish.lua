-- wrk: the publish API, single events or batches of $RT_BENCH_BATCH (default 1).
local n = tonumber(os.getenv("RT_BENCH_BATCH") or "1")
local ev = '{"channel":"app:bench","event":"progress","data":{"done":1,"total":100}}'
local body = ev
if n > 1 then
  local t = {}
  for k = 1, n do t[k] = ev end
  body = "[" .. table.concat(t, ",") .. "]"
end
wrk.method = "POST"
wrk.body = body
wrk.headers["Authorization"] = "Bearer " .. os.getenv("RT_BENCH_KEY")
wrk.headers["Content-Type"] = "application/json"
local bad = 0
response = function(status)
  if status ~= 200 then bad = bad + 1 end
end
done = function()
  io.write(string.format("non-200 responses: %d\n", bad))
end
