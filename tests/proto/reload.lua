-- reload.lua - one message held open across a reload.
-- Phase "hold": start a message and wait for the shell to reload; then
-- 20 headers must be refused by the old snapshot (max_headers = 10).
-- Phase "after": a new message with 20 headers is accepted.
dofile(os.getenv("MW_SRCDIR") .. "/tests/proto/lib.lua")

local function wait_file(path)
	for _ = 1, 200 do
		local f = io.open(path, "r")
		if f then f:close(); return end
		os.execute("sleep 0.05")
	end
	error("timed out waiting for " .. path)
end

local function headers(conn, n)
	for i = 1, n do
		assert(mt.header(conn, "X-Test-" .. i, "value " .. i) == nil)
		local r = mt.getreply(conn)
		if r ~= SMFIR_CONTINUE then return r, i end
	end
	return SMFIR_CONTINUE, n
end

mw_run(function()
	local phase = os.getenv("PHASE")
	local c = mw_connect("mail.example.net", "198.51.100.7")
	mt.helo(c, "mail.example.net")
	mt.macro(c, SMFIC_MAIL, "i", "Q" .. phase, "{mail_addr}", "a@example.net")
	assert(mt.mailfrom(c, "<a@example.net>") == nil)
	mw_expect(c, SMFIR_CONTINUE, "MAIL")
	assert(mt.rcptto(c, "<b@example.org>") == nil)
	mw_expect(c, SMFIR_CONTINUE, "RCPT")
	if phase == "hold" then
		io.open(os.getenv("READY"), "w"):close()
		wait_file(os.getenv("RELOADED"))
		local r, at = headers(c, 20)
		assert(r == SMFIR_REPLYCODE, "old snapshot: expected a 552 reply, got " .. tostring(r))
		assert(at == 11, "refused at header " .. at .. ", expected 11")
	else
		local r = headers(c, 20)
		assert(r == SMFIR_CONTINUE, "new snapshot should take 20 headers")
		assert(mt.eoh(c) == nil)
		assert(mt.bodystring(c, "hi\r\n") == nil)
		assert(mt.eom(c) == nil)
		mw_expect(c, SMFIR_CONTINUE, "EOM")
	end
	mt.disconnect(c)
end)
