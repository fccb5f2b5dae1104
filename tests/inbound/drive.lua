-- drive.lua - send one message of the inbound tests through mailwarden and
-- print what mailwarden did, one fact a line, for the shell to compare:
--
--	reply=<milter reply: c continue, y reply code, t tempfail, ...>
--	smtp=<the expected "550 5.7.1 text"> | smtp=MISMATCH
--	hdr <name>=<value inserted at index 0, \n \t \r \\ escaped>
--	quarantine=<reason> | quarantine=MISMATCH
--	delete <name> <index>
--
-- The case file (CASE, "KEY=value" lines) gives CLIENT_ADDR, CLIENT_NAME,
-- HELO, MAILFROM, RCPT, QID, MSG (raw message, CRLF), SMTP (expected
-- reply), QUARANTINE (expected reason); MW_CASE_<KEY> in the environment
-- overrides the file.
dofile(os.getenv("MW_SRCDIR") .. "/tests/proto/lib.lua")

local HEADERS = {"Authentication-Results", "Received-SPF", "X-Mailwarden-Quarantine"}

local function read_case(path)
	local t = {}
	for line in io.lines(path) do
		local k, v = line:match("^([%w_]+)=(.*)$")
		if k then t[k] = v end
	end
	for _, k in ipairs({"CLIENT_ADDR", "HELO", "MAILFROM", "QID", "SMTP", "QUARANTINE"}) do
		t[k] = os.getenv("MW_CASE_" .. k) or t[k]
	end
	return t
end

local function read_file(path)
	local f = assert(io.open(path, "rb"))
	local s = f:read("a")
	f:close()
	return s
end

-- split_message - header fields {name, value} (value past "Name: ") and body
local function split_message(raw)
	local hend = raw:find("\r\n\r\n", 1, true)
	assert(hend, "message without a header/body separator")
	local hdrs, body = {}, raw:sub(hend + 4)
	for line in (raw:sub(1, hend + 1)):gmatch("(.-)\r\n") do
		if line:match("^[ \t]") and #hdrs > 0 then
			hdrs[#hdrs][2] = hdrs[#hdrs][2] .. "\r\n" .. line
		else
			local n, v = line:match("^([^:]+):(.*)$")
			assert(n, "bad header line: " .. line)
			-- one leading space: mailwarden (or miltertest, with
			-- SMFIP_HDR_LEADSPC) puts it back
			table.insert(hdrs, {n, (v:gsub("^ ", "", 1))})
		end
	end
	return hdrs, body
end

local function esc(s)
	return (s:gsub("\\", "\\\\"):gsub("\r", "\\r"):gsub("\n", "\\n"):gsub("\t", "\\t"))
end

local function report(conn, c)
	if c.SMTP then
		local code, x, text = c.SMTP:match("^(%d+) ([%d.]+) (.*)$")
		if mt.eom_check(conn, MT_SMTPREPLY, code, x, text) then
			print("smtp=" .. c.SMTP)
		else
			print("smtp=MISMATCH")
		end
	end
	for _, name in ipairs(HEADERS) do
		local raw = mt.getheader(conn, name, 0)
		if raw then
			local v = raw:gsub("^ ", "", 1)
			local at0 = mt.eom_check(conn, MT_HDRINSERT, name, raw, 0)
			print("hdr " .. name .. (at0 and "" or " (not at index 0)") .. "=" .. esc(v))
		end
	end
	if mt.eom_check(conn, MT_QUARANTINE) then
		if c.QUARANTINE and mt.eom_check(conn, MT_QUARANTINE, c.QUARANTINE) then
			print("quarantine=" .. c.QUARANTINE)
		else
			print("quarantine=MISMATCH")
		end
	end
	for _, name in ipairs({"Authentication-Results", "Authentication-Results ",
			       "X-Mailwarden-Quarantine"}) do
		for idx = 1, 40 do
			if mt.eom_check(conn, MT_HDRDELETE, name, idx) then
				print("delete " .. name .. " " .. idx)
			end
		end
	end
end

mw_run(function()
	local c = read_case(os.getenv("CASE"))
	local hdrs, body = split_message(read_file(c.MSG))
	local conn = mw_connect(c.CLIENT_NAME or "client.example.test", c.CLIENT_ADDR or "192.0.2.10")
	assert(mt.helo(conn, c.HELO or "client.example.test") == nil)
	mw_expect(conn, SMFIR_CONTINUE, "HELO")
	mt.macro(conn, SMFIC_MAIL, "i", c.QID, "{mail_addr}", c.MAILFROM)
	assert(mt.mailfrom(conn, "<" .. c.MAILFROM .. ">") == nil)
	mw_expect(conn, SMFIR_CONTINUE, "MAIL FROM")
	mt.macro(conn, SMFIC_RCPT, "i", c.QID)
	assert(mt.rcptto(conn, "<" .. (c.RCPT or "bob@example.org") .. ">") == nil)
	mw_expect(conn, SMFIR_CONTINUE, "RCPT TO")
	assert(mt.data(conn) == nil)
	for _, h in ipairs(hdrs) do
		assert(mt.header(conn, h[1], h[2]) == nil)
		local r = mt.getreply(conn)
		if r ~= SMFIR_CONTINUE then
			print("reply=" .. string.char(r) .. " at header " .. h[1])
			return
		end
	end
	assert(mt.eoh(conn) == nil)
	mw_expect(conn, SMFIR_CONTINUE, "end of headers")
	local pos = 1
	while pos <= #body do
		assert(mt.bodystring(conn, body:sub(pos, pos + 65535 - 1)) == nil)
		mw_expect(conn, SMFIR_CONTINUE, "body")
		pos = pos + 65535
	end
	assert(mt.eom(conn) == nil)
	print("reply=" .. string.char(mt.getreply(conn)))
	report(conn, c)
	mt.disconnect(conn)
end)
