-- archive.lua - archive rules through the milter protocol. CASE selects:
--   rules       which rules add which archive recipients (MT_RCPTADD)
--   hostile     addresses with quotes, backslashes, control and 8-bit bytes
--   fail        the journal cannot be written: 451 (SMFIR_REPLYCODE)
--   accept      the same, the message is accepted (best_effort rules)
--   big         a 64 MB body in 64 KB chunks
-- The shell side (archive.sh) checks the journal and the log lines.
dofile(os.getenv("MW_SRCDIR") .. "/tests/proto/lib.lua")

-- rcptadd - did the milter add this recipient at end of message?
local function rcptadd(c, addr)
	return mt.eom_check(c, MT_RCPTADD, addr)
end

-- only - exactly these of the candidate archive recipients were added
local function only(c, want, what)
	local all = {"<archive@example.test>", "<ARCHIVE@Example.test>", "<legal@example.test>",
		     "<sales-archive@example.test>", "<net-archive@example.test>"}
	for _, a in ipairs(all) do
		local expect = want[a] == true
		if rcptadd(c, a) ~= expect then
			error(what .. ": " .. a .. (expect and " not added" or " added"), 2)
		end
	end
end

-- message - MAIL, RCPTs, headers, body in chunks, EOM; returns the EOM reply
local function message(c, t)
	mt.macro(c, SMFIC_MAIL, "i", t.qid, "{mail_addr}", t.from, table.unpack(t.mail or {}))
	assert(mt.mailfrom(c, "<" .. t.from .. ">") == nil)
	mw_expect(c, SMFIR_CONTINUE, "MAIL FROM")
	for _, r in ipairs(t.rcpts) do
		mt.macro(c, SMFIC_RCPT, "i", t.qid)
		assert(mt.rcptto(c, "<" .. r .. ">") == nil)
		mw_expect(c, SMFIR_CONTINUE, "RCPT TO")
	end
	assert(mt.data(c) == nil)
	for _, h in ipairs(t.headers) do
		assert(mt.header(c, h[1], h[2]) == nil)
		mw_expect(c, SMFIR_CONTINUE, "header " .. h[1])
	end
	assert(mt.eoh(c) == nil)
	mw_expect(c, SMFIR_CONTINUE, "end of headers")
	for i = 1, t.chunks or 1 do
		assert(mt.bodystring(c, t.body) == nil)
		mw_expect(c, SMFIR_CONTINUE, "body")
	end
	assert(mt.eom(c) == nil)
	return mt.getreply(c)
end

local headers = {{"From", "Alice <alice@example.net>"}, {"To", "Bob <bob@example.org>"},
		 {"Cc", "carol@example.org"}, {"Subject", "quarterly\n\tfigures"},
		 {"Message-ID", "<m1@example.net>"}}
local body = "Hello Bob,\r\n\r\nthe figures.\r\n.\r\n"

local cases = {}

function cases.rules()
	-- Inbound to example.org (To, Cc) and example.com (Bcc): rules "all",
	-- "org-in" (which names ARCHIVE@Example.test again) and "net-sender".
	local c = mw_connect("mail.example.net", "198.51.100.7")
	mt.helo(c, "mail.example.net")
	local r = message(c, {qid = "QARCH1", from = "alice@example.net",
			      rcpts = {"bob@example.org", "carol@example.org", "dave@example.com"},
			      headers = headers, body = body})
	assert(r == SMFIR_CONTINUE or r == SMFIR_ACCEPT, "QARCH1 not accepted: " .. tostring(r))
	only(c, {["<archive@example.test>"] = true, ["<legal@example.test>"] = true,
		 ["<net-archive@example.test>"] = true}, "QARCH1")
	mt.disconnect(c)

	-- Outbound, SASL user carol: rules "all" and "carol-out" only.
	c = mw_connect("laptop.example.net", "203.0.113.5")
	mt.helo(c, "laptop")
	r = message(c, {qid = "QARCH2", from = "carol@example.com", rcpts = {"x@example.org"},
			mail = {"{auth_authen}", "carol"}, headers = headers, body = body})
	assert(r == SMFIR_CONTINUE or r == SMFIR_ACCEPT, "QARCH2 not accepted")
	only(c, {["<archive@example.test>"] = true, ["<sales-archive@example.test>"] = true}, "QARCH2")
	mt.disconnect(c)

	-- The archive address is already a recipient: no second copy.
	c = mw_connect("mail.example.net", "198.51.100.7")
	mt.helo(c, "mail.example.net")
	r = message(c, {qid = "QARCH3", from = "alice@example.com", rcpts = {"Archive@Example.TEST"},
			headers = headers, body = body})
	assert(r == SMFIR_CONTINUE or r == SMFIR_ACCEPT, "QARCH3 not accepted")
	only(c, {}, "QARCH3")
	mt.disconnect(c)
end

function cases.hostile()
	local c = mw_connect("evil\"host\\name.example", "198.51.100.66")
	mt.helo(c, "helo\"with\\quote\tand\1ctl")
	local r = message(c, {qid = "QHOSTILE",
			      from = "\"quo\\\"te\"\1\127j\195\182rg\255@example.net",
			      rcpts = {"\"a,b\"@example.org", "tab\tnl\ncr\r@example.org",
				       "\226\128\168ls\237\160\128@example.org"},
			      headers = {{"From", "x@example.net"}, {"Subject", "\255\254 bytes"}},
			      body = "8-bit body \255\0\r\n"})
	assert(r == SMFIR_CONTINUE or r == SMFIR_ACCEPT, "QHOSTILE not accepted")
	assert(rcptadd(c, "<archive@example.test>"), "QHOSTILE: no archive copy")
	mt.disconnect(c)
end

-- refused - the journal cannot be written: the message must get 451
function cases.fail()
	local c = mw_connect("mail.example.net", "198.51.100.7")
	mt.helo(c, "mail.example.net")
	local r = message(c, {qid = "QFAIL", from = "alice@example.net", rcpts = {"bob@example.org"},
			      headers = headers, body = body})
	assert(r == SMFIR_REPLYCODE, "QFAIL: expected a 451 reply, got " .. tostring(r))
	mt.disconnect(c)
end

function cases.accept()
	local c = mw_connect("mail.example.net", "198.51.100.7")
	mt.helo(c, "mail.example.net")
	local r = message(c, {qid = "QBEST", from = "alice@example.net", rcpts = {"bob@example.org"},
			      headers = headers, body = body})
	assert(r == SMFIR_CONTINUE or r == SMFIR_ACCEPT, "QBEST: expected acceptance, got " .. tostring(r))
	assert(rcptadd(c, "<archive@example.test>"), "QBEST: no archive copy")
	mt.disconnect(c)
end

function cases.big()
	local c = mw_connect("mail.example.net", "198.51.100.7")
	mt.helo(c, "mail.example.net")
	local line = string.rep("0123456789abcdef", 4) .. "\r\n"	-- 66 bytes
	local chunk = string.rep(line, 992)				-- 65472 bytes
	local r = message(c, {qid = "QBIG", from = "alice@example.net", rcpts = {"bob@example.org"},
			      headers = headers, body = chunk, chunks = 1025})
	assert(r == SMFIR_CONTINUE or r == SMFIR_ACCEPT, "QBIG not accepted")
	mt.disconnect(c)
end

mw_run(function()
	local f = cases[os.getenv("CASE")]
	assert(f, "unknown CASE " .. tostring(os.getenv("CASE")))
	f()
end)
