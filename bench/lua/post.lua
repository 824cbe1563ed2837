-- POST /api/v1/customers with a new, distinct, realistic body each time.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local c = require("common")
local headers
local n = 0

setup = c.setup
done = c.done

local first = { "Anna", "Lukas", "Emma", "Jonas", "Mia", "Paul", "Clara", "Felix", "Sofia", "Elias",
                "Laura", "Tobias", "Camille", "Hugo", "Giulia", "Marco", "Lucia", "Javier", "Zofia",
                "Piotr", "Astrid", "Lars", "Olivia", "James" }
local last = { "Mueller", "Schmidt", "Weber", "Fischer", "Becker", "Wagner", "Keller", "Hoffmann",
               "Dubois", "Laurent", "Rossi", "Bianchi", "Garcia", "Lopez", "Nowak", "Kowalski",
               "Hansen", "Nilsson", "Smith", "Taylor", "Novak", "Horvat", "Nagy", "Popescu" }
local stem = { "Nord", "Alpen", "Rhein", "Hansa", "Atlas", "Vertex", "Orion", "Helios", "Polar",
               "Granite", "Harbor", "Falcon", "Zenith", "Prime", "Terra", "Metro" }
local trade = { "Logistik", "Bau", "Technik", "Software", "Consulting", "Handel", "Foods", "Pharma",
                "Energy", "Automotive", "Druck", "Media", "Immobilien", "Spedition", "Optik" }
local form = { "GmbH", "AG", "KG", "SE", "Ltd", "SAS", "Srl", "BV" }
local city = { { "Berlin", "10115", "DE", "30" }, { "Hamburg", "20095", "DE", "40" },
               { "Muenchen", "80331", "DE", "89" }, { "Wien", "1010", "AT", "1" },
               { "Paris", "75001", "FR", "1" }, { "Milano", "20121", "IT", "02" },
               { "Madrid", "28001", "ES", "91" }, { "Warszawa", "00-001", "PL", "22" } }
local cc = { DE = "49", AT = "43", FR = "33", IT = "39", ES = "34", PL = "48" }
local street = { "Hauptstrasse", "Bahnhofstrasse", "Gartenweg", "Industriestrasse", "Marktplatz" }
local segment = { "smb", "mid-market", "enterprise", "retail" }
local mail = { "gmail.com", "web.de", "gmx.de", "outlook.com", "posteo.de" }

local function pick(t) return t[math.random(#t)] end

function init(args)
  headers = { ["Authorization"] = "Bearer " .. c.token, ["Content-Type"] = "application/json" }
  math.randomseed(777 + (thread_id or 0))
end

function request()
  n = n + 1
  local tag = string.format("%d-%d", thread_id or 0, n)    -- makes every body distinct
  local ci = pick(city)
  local phone = string.format("+%s %s %07d", cc[ci[3]], ci[4], math.random(0, 9999999))
  local kind, name, email
  if math.random() < 0.3 then
    local f, l = pick(first), pick(last)
    kind, name = "person", f .. " " .. l
    email = string.format("%s.%s.%s@%s", f:lower(), l:lower(), tag, pick(mail))
  else
    local s, t = pick(stem), pick(trade)
    kind, name = "company", string.format("%s %s %s", s, t, pick(form))
    email = string.format("info@%s-%s-%s.%s", s:lower(), t:lower(), tag, ci[3]:lower())
  end
  local body = string.format(
    '{"kind":"%s","name":"%s","email":"%s","phone":"%s","segment":"%s",' ..
    '"addresses":[{"kind":"billing","line1":"%s %d","city":"%s","postal_code":"%s","country":"%s"}]}',
    kind, name, email, phone, pick(segment), pick(street), math.random(1, 199), ci[1], ci[2], ci[3])
  return wrk.format("POST", "/api/v1/customers", headers, body)
end
