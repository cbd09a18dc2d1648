-- wrk script: unique Telegram updates signed with the account's secret header, 10 % replays.
-- wrk -s bench/wrk_post.lua URL -- <mode> <first_update_id> <secret> <customers>
-- mode "telegram": a Telegram update per request; "body": a unique small body (baselines);
-- "get": plain GET (with a Cookie header from BENCH_COOKIE when given).
local threads = {}
local mode, first, secret, customers
n = 0  -- globals: done() reads them through thread:get
sent_unique = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  mode = args[1] or "get"
  first = tonumber(args[2] or "0") + (tid - 1) * 10000000  -- threads never share an id
  secret = args[3] or ""
  customers = tonumber(args[4] or "1000")
  wrk.headers["Content-Type"] = "application/json"
  if secret ~= "" and mode == "telegram" then
    wrk.headers["X-Telegram-Bot-Api-Secret-Token"] = secret
  end
  if mode == "get" and secret ~= "" then
    wrk.headers["Cookie"] = secret
  end
end

local function update(id)
  local customer = 900000 + id % customers
  return string.format(
    '{"update_id":%d,"message":{"message_id":%d,"date":1700000000,"text":"bench %d",' ..
    '"from":{"id":%d,"is_bot":false,"first_name":"Bench","language_code":"en"},' ..
    '"chat":{"id":%d,"type":"private","first_name":"Bench"}}}',
    id, id, id, customer, customer)
end

function request()
  n = n + 1
  if mode == "get" then
    return wrk.format("GET")
  end
  local id
  if n % 10 == 0 and sent_unique > 20 then
    id = first + sent_unique - 1 - (n % 17)  -- a replay of an update sent a moment ago
  else
    id = first + sent_unique
    sent_unique = sent_unique + 1
  end
  if mode == "telegram" then
    return wrk.format("POST", nil, nil, update(id))
  end
  return wrk.format("POST", nil, nil, string.format('{"n":%d}', id))
end

function done(summary, latency, requests)
  local unique, generated = 0, 0
  for _, t in ipairs(threads) do
    unique = unique + (t:get("sent_unique") or 0)
    generated = generated + (t:get("n") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"generated":%d,"unique":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50_us":%d,"p95_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, generated, unique, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
