-- sign.lua - messages through mailwarden's signing stage, as an MTA would
-- send them. Each message whose signatures come back is written to
-- $MW_OUT/QID.eml exactly as the MTA would pass it on (our DKIM-Signature
-- headers on top, bare LF sent as CRLF) for dkimcheck.py to verify; the
-- number of signatures is checked here, the reasons in the log by sign.sh.
-- MW_PHASE selects the messages: 1 (first configuration), 2 (after the
-- reload to simple/simple, x= and the fallback domain), 3 (after a reload
-- that must have failed: still the phase 2 configuration).
dofile(os.getenv("MW_SRCDIR") .. "/tests/proto/lib.lua")

local out = os.getenv("MW_OUT")

-- crlf - line ends as the MTA transmits them
local function crlf(s)
	return (s:gsub("\r?\n", "\r\n"))
end

-- write_eml - the message with its new signatures, newest on top
local function write_eml(t, sigs)
	local f = assert(io.open(out .. "/" .. t.qid .. ".eml", "wb"))
	for i = #sigs, 1, -1 do
		-- With LEADSPC the value has its space; else the MTA adds one.
		local v = sigs[i]:match("^[ \t]") and sigs[i] or " " .. sigs[i]
		f:write("DKIM-Signature:" .. crlf(v) .. "\r\n")
	end
	for _, h in ipairs(t.headers) do
		f:write(h[1] .. ": " .. crlf(h[2]) .. "\r\n")
	end
	f:write("\r\n")
	local body = table.concat(t.chunks or {})
	f:write(crlf(body))
	if body ~= "" and body:sub(-1) ~= "\n" then
		f:write("\r\n")
	end
	f:close()
end

-- expect_reply - the reply to a step must be "continue"
local function expect_continue(conn, what)
	local r = mt.getreply(conn)
	if r ~= SMFIR_CONTINUE then
		error(what .. ": reply " .. tostring(r), 2)
	end
end

-- send - one transaction; returns the DKIM-Signature values added
local function send(conn, t)
	local mm = t.macros_mail or {}
	table.insert(mm, "i"); table.insert(mm, t.qid)
	table.insert(mm, "{mail_addr}"); table.insert(mm, "sender@example.test")
	mt.macro(conn, SMFIC_MAIL, table.unpack(mm))
	assert(mt.mailfrom(conn, "<sender@example.test>") == nil)
	expect_continue(conn, t.qid .. " MAIL")
	mt.macro(conn, SMFIC_RCPT, "i", t.qid)
	assert(mt.rcptto(conn, "<bob@example.org>") == nil)
	expect_continue(conn, t.qid .. " RCPT")
	assert(mt.data(conn) == nil)
	for _, h in ipairs(t.headers) do
		assert(mt.header(conn, h[1], h[2]) == nil)
		expect_continue(conn, t.qid .. " header " .. h[1])
	end
	assert(mt.eoh(conn) == nil)
	expect_continue(conn, t.qid .. " EOH")
	for _, c in ipairs(t.chunks or {}) do
		assert(mt.bodystring(conn, c) == nil)
		expect_continue(conn, t.qid .. " body")
	end
	assert(mt.eom(conn) == nil)
	local r = mt.getreply(conn)
	assert(r == SMFIR_CONTINUE or r == SMFIR_ACCEPT, t.qid .. " EOM: reply " .. tostring(r))
	local sigs = {}
	for i = 0, 7 do
		local v = mt.getheader(conn, "DKIM-Signature", i)
		if v == nil then break end
		table.insert(sigs, v)
	end
	if #sigs ~= (t.want or 0) then
		error(t.qid .. ": " .. #sigs .. " signatures, expected " .. (t.want or 0))
	end
	if #sigs > 0 then
		write_eml(t, sigs)
	end
end

-- std - usual headers with this From (nil: none)
local function std(from, extra)
	local h = {}
	if from then table.insert(h, {"From", from}) end
	table.insert(h, {"To", "Bob <bob@example.org>"})
	table.insert(h, {"Subject", "test message"})
	table.insert(h, {"Date", "Mon, 23 Nov 2026 07:00:00 +0000"})
	table.insert(h, {"Message-ID", "<" .. tostring(os.time()) .. "@example.test>"})
	for _, x in ipairs(extra or {}) do table.insert(h, x) end
	return h
end

-- big - about 20 MB of body in chunks of 64000 bytes
local function big()
	local line = string.rep("0123456789", 99) .. "\r\n"	-- 992 bytes
	local chunk = string.rep(line, 64)			-- 63488 bytes
	local c = {}
	for i = 1, 331 do c[i] = chunk end
	return c
end

-- odd - folded and duplicate headers, 8-bit, long lines, CRLF/LF mixes
local function odd(qid, want)
	return {qid = qid, want = want, headers = {
		{"Received", "from a.example.test by b.example.test;\r\n\tMon, 23 Nov 2026 06:59:00 +0000"},
		{"Received", "from c.example.test by a.example.test;\n\tMon, 23 Nov 2026 06:58:00 +0000"},	-- Postfix folds with LF
		{"From", "\"Doe, John\"\r\n\t(the boss, really) <john@example.test>"},
		{"To", "a@example.org,\r\n b@example.org,\r\n\tc@example.org"},
		{"Subject", "Gr\195\188\195\159e aus K\195\182ln \226\128\147 8-bit header"},
		{"Comments", "duplicate headers: Received, Comments"},
		{"Comments", "a second\r\n  folded\tComments"},
		{"Date", "Mon, 23 Nov 2026 07:00:00 +0000"},
		{"X-Long", string.rep("y", 450) .. "\r\n\t" .. string.rep("z", 450)},	-- miltertest: < 1 KB
		{"Content-Type", "text/plain; charset=utf-8"},
		{"Content-Transfer-Encoding", "8bit"}},
		chunks = {"Line one, CRLF.\r\nLine two, LF only.\nMixed\r\n\n\r\n",
			  "Gr\195\188\195\159e \255\254 raw 8-bit bytes\r\n" .. string.rep("L", 5000) .. "\r\n",
			  "\r", "\nsplit CRLF above; spaces  and\ttabs   \r\n\r\n\r\n",
			  "last line without its line end"}}
end

local phase = os.getenv("MW_PHASE")

mw_run(function()
	local c = mw_connect("app.example.test", "192.0.2.10")
	mt.helo(c, "app.example.test")
	if phase == "1" then
		send(c, {qid = "QPLAIN", want = 2, headers = std("Alice <alice@example.test>"),
			 chunks = {"Hello.\r\n"}})
		send(c, {qid = "QSUB", want = 2, headers = std("alice@mail.example.test"),
			 chunks = {"Hello from a subdomain.\r\n"}})
		send(c, odd("QODD", 2))
		-- A singleton header twice (libopendkim's verifier refuses such a
		-- message; dkimpy checks it).
		send(c, {qid = "QDUPSUBJ", want = 2, headers = std("alice@example.test",
			 {{"Subject", "a second Subject"}}), chunks = {"Two Subject headers.\r\n"}})
		-- (An empty body cannot be sent with miltertest: it makes one up, and
		-- libmilter drops an empty chunk. postfix.sh sends one.)
		send(c, {qid = "QBIG", want = 2, headers = std("alice@example.test"), chunks = big()})
		send(c, {qid = "QTABLE", want = 2, headers = std("Carol <carol@tables.test>"),
			 chunks = {"Signed with KeyTable keys.\r\n"}})
		send(c, {qid = "QNOFROM", headers = std(nil), chunks = {"x\r\n"}})
		send(c, {qid = "QTWOFROM", headers = std("a@example.test", {{"From", "b@example.test"}}),
			 chunks = {"x\r\n"}})
		send(c, {qid = "QTWOADDR", headers = std("a@example.test, Bee <b@example.test>"),
			 chunks = {"x\r\n"}})
		send(c, {qid = "QBADFROM", headers = std("Alice Example"), chunks = {"x\r\n"}})
		send(c, {qid = "QNOKEY", headers = std("x@nokey.test"), chunks = {"x\r\n"}})
		send(c, {qid = "QALREADY", headers = std("alice@example.test", {{"DKIM-Signature",
			 "v=1; a=rsa-sha256; c=relaxed/relaxed; d=Example.Test;\r\n\ts=rsa1; bh=x; b=y"}}),
			 chunks = {"x\r\n"}})
	elseif phase == "2" or phase == "3" then
		local p = phase == "2" and "Q2" or "Q3"
		send(c, {qid = p .. "FALLBACK", want = 2, headers = std("x@nokey.test"),
			 chunks = {"Signed by the fallback domain.\r\n"}})
		send(c, odd(p .. "SIMPLE", 2))
	end
	mt.disconnect(c)

	if phase == "1" then
		-- An external client is inbound: never signed; with SASL it is outbound.
		c = mw_connect("mail.example.net", "198.51.100.7")
		mt.helo(c, "mail.example.net")
		send(c, {qid = "QINBOUND", headers = std("alice@example.test"), chunks = {"x\r\n"}})
		send(c, {qid = "QSASL", want = 2, headers = std("alice@example.test"),
			 chunks = {"Sent by an authenticated client.\r\n"},
			 macros_mail = {"{auth_authen}", "alice", "{auth_type}", "PLAIN"}})
		mt.disconnect(c)
	end
end)
