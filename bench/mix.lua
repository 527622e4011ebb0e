-- A mix of GETs for wrk: one request per line of MIX_FILE ("path" or "path<TAB>bearer token"), drawn uniformly or,
-- with MIX_ZIPF=s, with the line of rank r weighted 1/r^s (bench/mix.py writes the lines shuffled, so the hot keys
-- are spread over every endpoint). Each wrk thread loads the file and draws with its own seed.

local paths, tokens, cdf = {}, {}, {}
local zipf = tonumber(os.getenv("MIX_ZIPF") or "0") or 0
local total = 0

for line in io.lines(os.getenv("MIX_FILE")) do
  local path, token = line:match("^([^\t]+)\t?(.*)$")
  if path then
    paths[#paths + 1] = path
    tokens[#tokens + 1] = token
    local weight = 1
    if zipf > 0 then weight = 1 / ((#paths) ^ zipf) end
    total = total + weight
    cdf[#cdf + 1] = total
  end
end

local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(_args)
  math.randomseed(os.time() * 1000 + (seed or 0))
end

local function pick()
  local r = math.random() * total
  local lo, hi = 1, #cdf
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < r then lo = mid + 1 else hi = mid end
  end
  return lo
end

function request()
  local i = pick()
  if tokens[i] ~= "" then
    return wrk.format("GET", paths[i], { ["Authorization"] = "Bearer " .. tokens[i] })
  end
  return wrk.format("GET", paths[i])
end
