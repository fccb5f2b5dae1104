-- ratelimit.lua - transactions against mailwarden's rate limits (see
-- ratelimit.sh for the rules). PHASE selects what to send and expect.
dofile(os.getenv("MW_SRCDIR") .. "/tests/proto/lib.lua")

-- mail - MAIL FROM with the queue ID and SASL user macros; the reply
local function mail(c, qid, from, user)
	local m = {"i", qid, "{mail_addr}", from}
	if user then
		table.insert(m, "{auth_authen}")
		table.insert(m, user)
	end
	mt.macro(c, SMFIC_MAIL, table.unpack(m))
	assert(mt.mailfrom(c, "<" .. from .. ">") == nil)
	return mt.getreply(c)
end

-- rcpt - one RCPT TO; the reply
local function rcpt(c, qid, to)
	mt.macro(c, SMFIC_RCPT, "i", qid)
	assert(mt.rcptto(c, "<" .. to .. ">") == nil)
	return mt.getreply(c)
end

-- finish - DATA to end of message; the reply
local function finish(c, qid)
	assert(mt.data(c) == nil)
	assert(mt.header(c, "From", "<x@example.com>") == nil)
	mw_expect(c, SMFIR_CONTINUE, qid .. " header")
	assert(mt.eoh(c) == nil)
	assert(mt.bodystring(c, "Hello.\r\n") == nil)
	assert(mt.eom(c) == nil)
	return mt.getreply(c)
end

-- message - a whole message with one recipient (in a domain of its own,
-- so the recipient rule does not interfere), which must be accepted
local function message(c, qid, from, user)
	local r = mail(c, qid, from, user)
	if r ~= SMFIR_CONTINUE then return r end
	assert(rcpt(c, qid, "rcpt@" .. qid:lower() .. ".example") == SMFIR_CONTINUE, qid .. ": RCPT")
	return finish(c, qid)
end

local phases = {}

-- The SASL user alice may send 3 messages; the 4th is refused at MAIL.
-- Every message from 198.51.100.10 after the first is over the shadow
-- client_ip rule, which never refuses.
function phases.messages()
	local c = mw_connect("sub.example.net", "198.51.100.10")
	mt.helo(c, "sub.example.net")
	for i = 1, 3 do
		assert(message(c, "QMSG" .. i, "alice@example.com", "alice") == SMFIR_CONTINUE,
		       "message " .. i .. " must pass")
	end
	assert(mail(c, "QMSG4", "alice@example.com", "alice") == SMFIR_REPLYCODE,
	       "the 4th message must be refused at MAIL FROM")
	mt.disconnect(c)
end

-- bob may send to 2 recipients per domain: the 3rd at example.org is
-- refused, example.net still takes one, and the message goes through.
function phases.recipients()
	local c = mw_connect("sub.example.net", "198.51.100.11")
	mt.helo(c, "sub.example.net")
	assert(mail(c, "QRCPT", "bob@example.com", "bob") == SMFIR_CONTINUE)
	assert(rcpt(c, "QRCPT", "a@example.org") == SMFIR_CONTINUE, "1st recipient")
	assert(rcpt(c, "QRCPT", "b@example.org") == SMFIR_CONTINUE, "2nd recipient")
	assert(rcpt(c, "QRCPT", "c@example.org") == SMFIR_REPLYCODE, "3rd recipient must be refused")
	assert(rcpt(c, "QRCPT", "d@example.net") == SMFIR_CONTINUE, "other domain")
	assert(finish(c, "QRCPT") == SMFIR_CONTINUE, "the message goes on")
	mt.disconnect(c)
end

-- An inbound sender over a reject rule: 550 at the second message.
function phases.reject()
	local c = mw_connect("mx.ext.example", "203.0.113.9")
	mt.helo(c, "mx.ext.example")
	assert(message(c, "QREJ1", "news@ext.example") == SMFIR_CONTINUE, "first passes")
	assert(mail(c, "QREJ2", "news@ext.example") == SMFIR_REPLYCODE, "second is rejected")
	mt.disconnect(c)
end

-- After mailwarden-ctl reset, alice sends again.
function phases.after_reset()
	local c = mw_connect("sub.example.net", "198.51.100.12")
	mt.helo(c, "sub.example.net")
	assert(message(c, os.getenv("QID"), "alice@example.com", "alice") == SMFIR_CONTINUE,
	       "a reset key must pass")
	mt.disconnect(c)
end

-- After a reload, alice is still limited: the store kept her count.
function phases.after_reload()
	local c = mw_connect("sub.example.net", "198.51.100.12")
	mt.helo(c, "sub.example.net")
	assert(mail(c, "QRELOAD", "alice@example.com", "alice") == SMFIR_REPLYCODE,
	       "the limit must survive a reload")
	mt.disconnect(c)
end

mw_run(function()
	local p = phases[os.getenv("PHASE")]
	assert(p, "unknown PHASE " .. tostring(os.getenv("PHASE")))
	p()
end)
