-- ratelimit_redis.lua - N messages from one SASL user through one
-- mailwarden; prints "accepted=A refused=R". Environment: MW_SOCKET,
-- SASL_USER, N, QPFX (queue ID prefix).
dofile(os.getenv("MW_SRCDIR") .. "/tests/proto/lib.lua")

-- one - a message; true when it was accepted, false when refused at MAIL
local function one(c, qid, user)
	mt.macro(c, SMFIC_MAIL, "i", qid, "{mail_addr}", user .. "@example.com",
		 "{auth_authen}", user)
	assert(mt.mailfrom(c, "<" .. user .. "@example.com>") == nil)
	local r = mt.getreply(c)
	if r == SMFIR_REPLYCODE then return false end
	assert(r == SMFIR_CONTINUE, qid .. ": unexpected MAIL reply " .. tostring(r))
	mt.macro(c, SMFIC_RCPT, "i", qid)
	assert(mt.rcptto(c, "<rcpt@example.org>") == nil)
	mw_expect(c, SMFIR_CONTINUE, qid .. " RCPT")
	assert(mt.data(c) == nil)
	assert(mt.header(c, "From", "<" .. user .. "@example.com>") == nil)
	mw_expect(c, SMFIR_CONTINUE, qid .. " header")
	assert(mt.eoh(c) == nil)
	assert(mt.bodystring(c, "Hello.\r\n") == nil)
	assert(mt.eom(c) == nil)
	mw_expect(c, SMFIR_CONTINUE, qid .. " EOM")
	return true
end

mw_run(function()
	local user, n, pfx = os.getenv("SASL_USER"), tonumber(os.getenv("N")), os.getenv("QPFX")
	local c = mw_connect("sub.example.net", "198.51.100.20")
	mt.helo(c, "sub.example.net")
	local acc, ref = 0, 0
	for i = 1, n do
		if one(c, pfx .. i, user) then acc = acc + 1 else ref = ref + 1 end
	end
	mt.disconnect(c)
	print("accepted=" .. acc .. " refused=" .. ref)
end)
