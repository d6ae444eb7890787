-- wrk script: POST a realistic ~400-byte Segment track call, or a batch of BATCH of them,
-- with a unique messageId per event. Env: TREU_KEY (Basic auth), BATCH (0 = single call).
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  thread_id = tid
  local key = os.getenv("TREU_KEY") or ""
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  -- base64 of "key:" (the key is base62, so plain ASCII)
  local b = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  local s = key .. ":"
  local out = ((s:gsub('.', function(x)
    local r, bits = '', x:byte()
    for i = 8, 1, -1 do r = r .. (bits % 2 ^ i - bits % 2 ^ (i - 1) > 0 and '1' or '0') end
    return r
  end) .. '0000'):gsub('%d%d%d?%d?%d?%d?', function(x)
    if (#x < 6) then return '' end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == '1' and 2 ^ (6 - i) or 0) end
    return b:sub(c + 1, c + 1)
  end) .. ({ '', '==', '=' })[#s % 3 + 1])
  wrk.headers["Authorization"] = "Basic " .. out
end

local function event(n)
  return string.format(
    '{"type":"track","userId":"user-%d","event":"Product Viewed","messageId":"t%d-%d",' ..
    '"timestamp":"2025-06-01T12:00:00Z","properties":{"product_id":"sku-%d","category":"Shoes",' ..
    '"name":"Trail Runner","price":89.9,"currency":"EUR","url":"https://shop.example/p/trail-runner"},' ..
    '"context":{"ip":"203.0.113.7","userAgent":"Mozilla/5.0 (X11; Linux x86_64)","locale":"de-DE"}}',
    n % 10000, thread_id, n, n % 500)
end

function request()
  local batch = tonumber(os.getenv("BATCH") or "0")
  if batch == 0 then
    counter = counter + 1
    return wrk.format(nil, "/v1/track", nil, event(counter))
  end
  local parts = {}
  for i = 1, batch do
    counter = counter + 1
    parts[i] = event(counter)
  end
  return wrk.format(nil, "/v1/batch", nil, '{"batch":[' .. table.concat(parts, ",") .. ']}')
end
