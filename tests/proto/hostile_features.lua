-- hostile_features.lua - hostile messages at the protocol level with the
-- feature stages on (inbound checks, signing, journal). One case a run
-- (CASE); prints "reply CODE" (the end-of-message reply as miltertest
-- reports it, a number: 99 continue, 121 reply code) and "hdr NAME=VALUE"
-- for the headers the milter added. A message with no headers at all is
-- sent through Postfix: miltertest makes up a From header when a script
-- sends none.
dofile(os.getenv("MW_SRCDIR") .. "/tests/proto/lib.lua")

local function from(v) return {"From", v} end

-- case table: headers (nil: none at all), body, outbound (SASL user)
local cases = {
	-- NUL bytes: libmilter hands header values over as C strings.
	nul_header = {headers = {from("alice@example.test"), {"Subject", "a\0hidden"}},
		body = "body\r\n"},
	nul_from = {headers = {from("alice@example.test\0@evil.example")}, body = "x\r\n"},
	nul_body = {headers = {from("alice@example.test")}, body = "a\0b\r\n\0\0\r\n"},
	-- A value of exactly 1000 bytes (miltertest itself breaks past ~1 KB:
	-- larger values go through Postfix in hostile_features.sh).
	value_1000 = {headers = {from("alice@example.test"), {"Subject", string.rep("s", 1000)}}},
	long_line = {headers = {from("alice@example.test")}, body = string.rep("L", 2000) .. "\r\n"},
	long_line_out = {headers = {from("alice@example.test")}, body = string.rep("L", 2000) .. "\r\n",
		user = "alice"},
	two_from = {headers = {from("alice@example.test"), from("mallory@evil.example")}},
	two_from_out = {headers = {from("alice@example.test"), from("mallory@evil.example")},
		user = "alice"},
	fifty = {headers = {from((function()
		local t = {}
		for i = 1, 50 do t[i] = "u" .. i .. "@example.test" end
		return table.concat(t, ", ")
	end)())}},
	unterminated = {headers = {from("Alice <a@b")}},
	encoded = {headers = {from("=?utf-8?q?J=C3=BCrgen?= <alice@example.test>")}},
	idn = {headers = {from("J\195\182rg <j\195\182rg@b\195\188cher.test>")}},
	empty_body = {headers = {from("alice@example.test")}, body = ""},
	empty_body_out = {headers = {from("alice@example.test")}, body = "", user = "alice"},
}

local function run(name)
	local t = cases[name] or error("no case " .. tostring(name))
	local qid = "Q" .. name:upper():gsub("_", "")
	local c = mw_connect("client.example.test", "192.0.2.10")
	mt.helo(c, "client.example.test")
	local mm = {"i", qid, "{mail_addr}", "alice@example.test"}
	if t.user then
		table.insert(mm, "{auth_authen}")
		table.insert(mm, t.user)
	end
	mt.macro(c, SMFIC_MAIL, table.unpack(mm))
	assert(mt.mailfrom(c, "<alice@example.test>") == nil)
	mw_expect(c, SMFIR_CONTINUE, "MAIL")
	mt.macro(c, SMFIC_RCPT, "i", qid)
	assert(mt.rcptto(c, "<bob@example.org>") == nil)
	mw_expect(c, SMFIR_CONTINUE, "RCPT")
	for _, h in ipairs(t.headers) do
		assert(mt.header(c, h[1], h[2]) == nil)
		mw_expect(c, SMFIR_CONTINUE, "header " .. h[1])
	end
	assert(mt.eoh(c) == nil)
	mw_expect(c, SMFIR_CONTINUE, "end of headers")
	if (t.body or "Hello.\r\n") ~= "" then
		assert(mt.bodystring(c, t.body or "Hello.\r\n") == nil)
		mw_expect(c, SMFIR_CONTINUE, "body")
	end
	assert(mt.eom(c) == nil)
	print("reply " .. tostring(mt.getreply(c)))
	for _, n in ipairs({"Authentication-Results", "DKIM-Signature"}) do
		local v = mt.getheader(c, n, 0)
		if v then print("hdr " .. n .. "=" .. v:gsub("[\r\n\t]+", " ")) end
	end
	mt.disconnect(c)
end

mw_run(function() run(os.getenv("CASE")) end)
