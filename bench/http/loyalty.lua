-- wrk script: POST an earn transfer for one of CUSTOMERS customers, each with a unique
-- Idempotency-Key (so every request is a new durable transfer).
-- Env: CUSTOMERS (default 1000), TREU_KEY (a write key, sent as Bearer), RUN (a key prefix).
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local key = os.getenv("TREU_KEY") or ""
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. key
  customers = tonumber(os.getenv("CUSTOMERS") or "1000")
  run = os.getenv("RUN") or "r"
end

function request()
  counter = counter + 1
  local c = (counter * 7919 + tid * 104729) % customers
  wrk.headers["Idempotency-Key"] = string.format("%s-%d-%d", run, tid, counter)
  return wrk.format(nil, string.format("/api/v1/loyalty/customers/c-%d/transfers", c), nil,
    '{"kind":"earn","points":10,"reason":"bench"}')
end
