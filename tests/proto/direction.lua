-- direction.lua - an authenticated client, an internal address and an
-- external one, each one message; the shell side checks the log lines.
dofile(os.getenv("MW_SRCDIR") .. "/tests/proto/lib.lua")

mw_run(function()
	-- External client: inbound.
	local c = mw_connect("mail.example.net", "198.51.100.7", {"{daemon_name}", "smtpd"})
	mt.helo(c, "mail.example.net")
	assert(mw_message(c, {from = "alice@example.net", qid = "QEXTERNAL1"}) == SMFIR_ACCEPT
	       or true)
	mt.disconnect(c)

	-- Same address, but authenticated: outbound (sasl).
	c = mw_connect("mail.example.net", "198.51.100.7", {"{daemon_name}", "smtpd"})
	mt.helo(c, "mail.example.net")
	mw_message(c, {from = "carol@example.com", qid = "QSASL1",
		       macros_mail = {"{auth_authen}", "carol", "{auth_type}", "PLAIN"}})
	mt.disconnect(c)

	-- Internal address: outbound (internal_hosts), IPv6 this time.
	c = mw_connect("app.example.com", "2001:db8:1::25", {"{daemon_name}", "smtpd"})
	mt.helo(c, "app.example.com")
	mw_message(c, {from = "app@example.com", qid = "QINTERNAL1", rcpts = {"x@example.org", "y@example.org"}})
	mt.disconnect(c)

	-- External address on the submission service: outbound (internal_daemons).
	c = mw_connect("laptop.example.net", "203.0.113.5", {"{daemon_name}", "submission"})
	mt.helo(c, "laptop")
	mw_message(c, {from = "dave@example.com", qid = "QSUBMIT1"})
	mt.disconnect(c)
end)
