-- lib.lua - helpers for mailwarden's miltertest scripts.
-- Load with: dofile(os.getenv("MW_SRCDIR") .. "/tests/proto/lib.lua")

-- mw_run - run main() and exit 1 with the traceback on any error
-- (miltertest itself swallows most Lua errors)
function mw_run(main)
	local ok, err = xpcall(main, debug.traceback)
	if not ok then
		io.stderr:write("miltertest script failed: " .. tostring(err) .. "\n")
		os.exit(1)
	end
end

-- mw_connect - connect to MW_SOCKET, present a client; returns conn
function mw_connect(host, addr, macros)
	local conn = mt.connect(os.getenv("MW_SOCKET"), 40, 0.25)
	assert(conn, "cannot connect to " .. tostring(os.getenv("MW_SOCKET")))
	if macros then
		mt.macro(conn, SMFIC_CONNECT, table.unpack(macros))
	end
	assert(mt.conninfo(conn, host, addr) == nil, "conninfo failed")
	assert(mt.getreply(conn) == SMFIR_CONTINUE, "connect not continued")
	return conn
end

-- mw_expect - assert the last reply of conn
function mw_expect(conn, want, what)
	local got = mt.getreply(conn)
	if got ~= want then
		error(what .. ": reply " .. tostring(got) .. ", expected " .. tostring(want), 2)
	end
end

-- mw_message - one whole transaction; returns the EOM reply
-- t = {from=, rcpts={}, macros_mail={}, qid=, headers={{n,v}}, body=}
function mw_message(conn, t)
	local mm = t.macros_mail or {}
	table.insert(mm, "i"); table.insert(mm, t.qid or "TESTQID")
	table.insert(mm, "{mail_addr}"); table.insert(mm, t.from)
	mt.macro(conn, SMFIC_MAIL, table.unpack(mm))
	assert(mt.mailfrom(conn, "<" .. t.from .. ">") == nil)
	mw_expect(conn, SMFIR_CONTINUE, "MAIL FROM")
	for _, r in ipairs(t.rcpts or {"bob@example.org"}) do
		mt.macro(conn, SMFIC_RCPT, "i", t.qid or "TESTQID")
		assert(mt.rcptto(conn, "<" .. r .. ">") == nil)
		mw_expect(conn, SMFIR_CONTINUE, "RCPT TO " .. r)
	end
	assert(mt.data(conn) == nil)
	for _, h in ipairs(t.headers or {{"From", "<" .. t.from .. ">"}, {"Subject", "test"}}) do
		assert(mt.header(conn, h[1], h[2]) == nil)
		local r = mt.getreply(conn)
		if r ~= SMFIR_CONTINUE then return r end
	end
	assert(mt.eoh(conn) == nil)
	assert(mt.bodystring(conn, t.body or "Hello.\r\n") == nil)
	assert(mt.eom(conn) == nil)
	return mt.getreply(conn)
end
