-- wrk script for bench/pp/run.sh: POSTs booth ballots to pp.vote.booth, each with a new,
-- well-formed CURP, and counts the answers by HTTP status. Parameters come from the
-- environment (PP_TOKEN, PP_PROCESS, PP_ZONE, PP_PROJECTS, PP_OUT) so that the main state
-- (setup/done) and every thread's state see the same values.

local token = os.getenv("PP_TOKEN")
local process_id = tonumber(os.getenv("PP_PROCESS"))
local zone_id = tonumber(os.getenv("PP_ZONE"))
local projects = os.getenv("PP_PROJECTS")

local LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
-- RENAPO's internal consonants: [B-DF-HJ-NP-TV-Z], 21 letters.
local CONSONANTS = "BCDFGHJKLMNPQRSTVWXYZ"

local function at(s, i) return s:sub(i + 1, i + 1) end

-- Ballot n of thread t gets a distinct CURP that matches the server's pattern:
-- X E <t as two letters> YY MM DD H GT <3 consonants> B 7. Capacity per thread: 311 million.
-- The XE prefix is not produced by RENAPO's name rules, so no real person's CURP is used.
local function curp(t, n)
  local yy = n % 100
  local mm = 1 + math.floor(n / 100) % 12
  local dd = 1 + math.floor(n / 1200) % 28
  local c = math.floor(n / 33600)
  return string.format("XE%s%s%02d%02d%02dHGT%s%s%sB7", at(LETTERS, math.floor(t / 26) % 26),
                       at(LETTERS, t % 26), yy, mm, dd, at(CONSONANTS, math.floor(c / 441) % 21),
                       at(CONSONANTS, math.floor(c / 21) % 21), at(CONSONANTS, c % 21))
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  sent = 0         -- request() calls: ballots handed to a connection
  statuses = {}    -- answers by HTTP status
  receipts = {}    -- receipt codes of the 200 answers
  bad_200 = 0      -- 200 answers without a receipt
  headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
end

function request()
  local id = curp(tid, sent)
  sent = sent + 1
  local body = string.format('{"process_id":%d,"zone_id":%d,"projects":"%s",'
                                 .. '"voter_id_type":"curp","voter_id":"%s",'
                                 .. '"privacy_accepted":true}',
                             process_id, zone_id, projects, id)
  return wrk.format("POST", "/api/v1/actions/pp.vote.booth", headers, body)
end

function response(status, headers, body)
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
  if status == 200 then
    local r = body:match('"receipt"%s*:%s*"([A-Z0-9%-]+)"')
    if r then receipts[#receipts + 1] = r else bad_200 = bad_200 + 1 end
  end
end

function done(summary, latency, requests)
  local out = os.getenv("PP_OUT")
  local total = {}
  local sent_all, bad = 0, 0
  local f = assert(io.open(out .. "/receipts.txt", "w"))
  for _, t in ipairs(threads) do
    sent_all = sent_all + t:get("sent")
    bad = bad + t:get("bad_200")
    for k, v in pairs(t:get("statuses")) do total[k] = (total[k] or 0) + v end
    for _, r in ipairs(t:get("receipts")) do f:write(r, "\n") end
  end
  f:close()
  local s = assert(io.open(out .. "/wrk-summary.txt", "w"))
  local e = summary.errors
  s:write(string.format("duration_us %d\nresponses %d\nsent %d\nbad_200 %d\n", summary.duration,
                        summary.requests, sent_all, bad))
  s:write(string.format("errors_connect %d\nerrors_read %d\nerrors_write %d\nerrors_timeout %d\n",
                        e.connect, e.read, e.write, e.timeout))
  s:write(string.format("p50_us %d\np90_us %d\np99_us %d\nmax_us %d\n", latency:percentile(50),
                        latency:percentile(90), latency:percentile(99), latency.max))
  for k, v in pairs(total) do s:write(string.format("status_%s %d\n", k, v)) end
  s:close()
end
