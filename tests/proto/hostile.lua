-- hostile.lua - bounds and odd input at the protocol level.
dofile(os.getenv("MW_SRCDIR") .. "/tests/proto/lib.lua")

local function start(qid, macros)
	local c = mw_connect("odd.example.net", "198.51.100.9")
	mt.helo(c, "odd.example.net")	-- (miltertest overflows its own buffer on long HELO names)
	mt.macro(c, SMFIC_MAIL, table.unpack(macros or {"i", qid, "{mail_addr}", "x@example.net"}))
	assert(mt.mailfrom(c, "<x@example.net>") == nil)
	mw_expect(c, SMFIR_CONTINUE, "MAIL")
	return c
end

local cases = {}

cases.count = function()
	-- Too many headers: 552 5.3.4 at the first one past max_headers (20).
	local c = start("QCOUNT")
	assert(mt.rcptto(c, "<b@example.org>") == nil)
	mw_expect(c, SMFIR_CONTINUE, "RCPT")
	local got
	for i = 1, 25 do
		assert(mt.header(c, "X-H", "v" .. i) == nil)
		got = mt.getreply(c)
		if got ~= SMFIR_CONTINUE then
			assert(i == 21, "refused at header " .. i)
			break
		end
	end
	assert(got == SMFIR_REPLYCODE, "too many headers not refused")
	mt.disconnect(c)
end

cases.bytes = function()
	-- Too many header bytes (max_header_bytes 2048).
	local c = start("QBYTES")
	assert(mt.rcptto(c, "<b@example.org>") == nil)
	mw_expect(c, SMFIR_CONTINUE, "RCPT")
	-- (miltertest overflows its own buffer on values over ~1 KB, so the
	-- bound is crossed by several 600-byte headers)
	for i = 1, 3 do
		assert(mt.header(c, "X-Big-" .. i, string.rep("s", 600)) == nil)
		mw_expect(c, SMFIR_CONTINUE, "big header " .. i)
	end
	assert(mt.header(c, "X-Big-4", string.rep("s", 600)) == nil)
	mw_expect(c, SMFIR_REPLYCODE, "header bytes past the bound")
	mt.disconnect(c)
end

cases.longrcpt = function()
	-- A recipient longer than any address may be: 501 5.1.3, then a
	-- normal one still goes on.
	local c = start("QLONGRCPT")
	assert(mt.rcptto(c, "<" .. string.rep("r", 330) .. "@example.org>") == nil)
	mw_expect(c, SMFIR_REPLYCODE, "long RCPT")
	assert(mt.rcptto(c, "<ok@example.org>") == nil)
	mw_expect(c, SMFIR_CONTINUE, "RCPT after long one")
	mt.disconnect(c)
end

cases.longfrom = function()
	-- A sender longer than any address may be: 501 5.1.7.
	local c = mw_connect("odd.example.net", "198.51.100.9")
	mt.helo(c, "odd.example.net")	-- else miltertest's own HELO drops the macros
	mt.macro(c, SMFIC_MAIL, "i", "QLONGFROM", "{mail_addr}", "x")
	assert(mt.mailfrom(c, "<" .. string.rep("f", 330) .. "@example.net>") == nil)
	mw_expect(c, SMFIR_REPLYCODE, "long MAIL FROM")
	mt.disconnect(c)
end

cases.odd = function()
	-- Odd but legal: empty sender, header with no value, binary body,
	-- control bytes in the sender; and no {mail_addr}/{auth_authen}
	-- macro at all (warning), no queue ID at end of message (warning).
	local c = mw_connect("odd.example.net", "198.51.100.9")
	assert(mt.mailfrom(c, "<>") == nil)
	mw_expect(c, SMFIR_CONTINUE, "MAIL <>")
	assert(mt.rcptto(c, "<b@example.org>") == nil)
	mw_expect(c, SMFIR_CONTINUE, "RCPT")
	assert(mt.header(c, "X-Empty", "") == nil)
	mw_expect(c, SMFIR_CONTINUE, "empty header")
	assert(mt.eoh(c) == nil)
	assert(mt.bodystring(c, "\1\2\3\255\254 binary\r\n.\r\n..\r\n") == nil)
	assert(mt.eom(c) == nil)
	mw_expect(c, SMFIR_CONTINUE, "EOM")
	mt.disconnect(c)
end

cases.abort = function()
	-- Aborted transaction, then a new one on the same connection.
	local c = start("QABORT1")
	assert(mt.abort(c) == nil)
	mt.macro(c, SMFIC_MAIL, "i", "QAFTER", "{mail_addr}", "y@example.net")
	assert(mt.mailfrom(c, "<y\r\nInjected: yes@example.net>") == nil)
	mw_expect(c, SMFIR_CONTINUE, "MAIL after abort")
	mt.disconnect(c)
end

-- One case a run: miltertest 2.11 overflows its own stack buffer after a
-- few connections with reply codes in one script.
mw_run(cases[os.getenv("CASE")] or function() error("no case " .. tostring(os.getenv("CASE"))) end)
