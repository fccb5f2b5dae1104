#!/bin/bash
# e2e.sh - SPF, DKIM and DMARC through a real Postfix: swaks (XCLIENT
# 192.0.2.10) -> Postfix with mailwarden as its milter -> smtp-sink.
# For each case of tests/inbound/cases.py sent here: the exact SMTP reply
# swaks got, and for a delivered message the exact Authentication-Results
# (Received-SPF, tag) header it carries on top, with forged ones gone and
# foreign ones kept. Quarantine both ways: Postfix's hold queue, and the
# tag header. Hostile input only a real MTA carries: 1100 headers, 1.2 MB
# of headers, a 50 KB From header, NUL bytes. python3-authres parses every
# delivered Authentication-Results header.
. "$MW_SRCDIR/tests/lib/common.sh"
. "$MW_SRCDIR/tests/lib/postfix.sh"
. "$MW_SRCDIR/tests/inbound/lib.sh"
inbound_init
mw_postfix_need

CASES="/usr/bin/python3 $MW_SRCDIR/tests/inbound/cases.py"

MW_MILTER_PORT=$(mw_port)
conf() {
	cat >"$W/mw.conf" <<EOF
socket = "inet:$MW_MILTER_PORT@127.0.0.1"
pid_file = ""
user = ""
authserv_id = "mx.example.test"
dns_servers = {127.0.0.1:$MW_DNS_PORT}
public_suffix_list = "$W/psl.dat"
dmarc_never_reject = {never.test}
dmarc_always_tag = {tagme.test}
$*
EOF
}
conf
mw_mailwarden_start "$W/mw.conf"
# As for mail from the Internet: Postfix neither adds a missing From
# header nor rewrites header addresses (it would repair "<a@b" first).
mw_postfix_start "local_header_rewrite_clients ="

# case_env NAME KEY - a value of the case file
case_env() {
	sed -n "s/^$2=//p" "$W/cases/$1.case"
}

# send NAME [SWAKS_OPTION...] - the case's message, its envelope, through Postfix
send() {
	local name=$1 from
	shift
	from=$(case_env "$name" MAILFROM)
	[ -n "$from" ] || from='<>'
	mw_send --data "$W/cases/$name.eml" --from "$from" --xclient-addr \
		"$(case_env "$name" CLIENT_ADDR | grep . || echo 192.0.2.10)" \
		--helo "$(case_env "$name" HELO | grep . || echo client.example.test)" "$@"
}

# sink_file NAME - the sink file holding the case's message (waits)
sink_file() {
	local i f
	for i in $(seq 1 200); do
		for f in $(mw_sink_files); do
			grep -qE "^X-Case: $1[[:space:]]*\$" "$f" && { echo "$f"; return 0; }
		done
		sleep 0.05
	done
	return 1
}

HDRS="Authentication-Results Received-SPF X-Mailwarden-Quarantine"
failed=()
# delivered NAME [WANT_FILE] - sent with 250 and delivered with the
# expected headers (default: the .want file's "hdr" lines)
delivered() {
	local name=$1 want=${2:-$W/cases/$1.want} f
	send "$name"
	if [ -z "$MW_SENT_QID" ]; then
		failed+=("$name")
		echo "--- $name: not accepted:" >&2
		grep '^<\*\*' "$MW_SEND_LOG" >&2
		return
	fi
	f=$(sink_file "$name") || { failed+=("$name"); echo "--- $name: not delivered" >&2; return; }
	grep '^hdr ' "$want" >"$W/e2e.$name.want"
	# shellcheck disable=SC2086
	$CASES sinkhdrs "$f" $HDRS >"$W/e2e.$name.out"
	if ! diff -u "$W/e2e.$name.want" "$W/e2e.$name.out" >&2; then
		failed+=("$name")
		echo "--- $name: headers differ (above)" >&2
	fi
}

# refused NAME "CODE X.Y.Z text" - the transaction ends with exactly that reply
refused() {
	local name=$1 reply=$2
	send "$name"
	if ! grep -qxF "<** $reply" <(tr -d '\r' <"$MW_SEND_LOG"); then
		failed+=("$name")
		echo "--- $name: expected '<** $reply', got:" >&2
		grep '^<\*\*' "$MW_SEND_LOG" >&2
	fi
}

# from_want NAME - the expected reply of a refused case
from_want() {
	sed -n 's/^smtp=//p' "$W/cases/$1.want"
}

# --- each SPF result --------------------------------------------------------
for c in spf_spf_pass spf_spf_fail spf_spf_soft spf_spf_neutral spf_spf_none \
	spf_temperror spf_spf_perm spf_t11 spf_v3 spf_helo_fail spf_null_sender; do
	delivered "$c"
done

# --- each DKIM result (signatures through Postfix's header handling) -------
for c in dkim_pass dkim_pass_simple dkim_pass_ed25519 dkim_fail_body dkim_fail_header \
	dkim_neutral dkim_policy_small dkim_policy_expired dkim_temperror \
	dkim_permerror_nokey dkim_permerror_revoked dkim_two_mixed; do
	delivered "$c"
done

# --- each DMARC outcome -----------------------------------------------------
for c in dmarc_pass_spf dmarc_pass_dkim dmarc_none dmarc_p_parent dmarc_relaxed_spf \
	dmarc_relaxed_dkim dmarc_no_policy dmarc_always_tag; do
	delivered "$c"
done
for c in dmarc_reject dmarc_pct100 dmarc_sp_subdomain dmarc_strict_spf dmarc_strict_dkim \
	dmarc_temperror dmarc_temperror_aligned; do
	refused "$c" "$(from_want "$c")"
done

# quarantine, the hold way: Postfix's hold queue, not delivered
holds=0
for c in dmarc_quarantine_hold dmarc_pct0; do
	send "$c"
	[ -n "$MW_SENT_QID" ] || { failed+=("$c"); echo "--- $c: not accepted" >&2; continue; }
	holds=$((holds + 1))
	mw_postfix_log_wait "$MW_SENT_QID: milter-hold: .*milter triggers HOLD action" ||
		{ failed+=("$c"); echo "--- $c: no HOLD in the Postfix log" >&2; }
done
for i in $(seq 1 100); do
	[ "$(find "$MW_PF_QUEUE/hold" -type f | wc -l)" -ge $holds ] && break
	sleep 0.05
done
[ "$(find "$MW_PF_QUEUE/hold" -type f | wc -l)" -eq $holds ] ||
	mw_fail "$holds held messages expected in the hold queue"

# --- hostile input ------------------------------------------------------------
for c in hostile_no_from hostile_two_from hostile_multi_addr_reject hostile_idn \
	hostile_unterminated hostile_comment_domain hostile_encoded_raw_at; do
	refused "$c" "$(from_want "$c")"
done
for c in hostile_multi_addr_each hostile_comment hostile_quoted hostile_encoded_word \
	hostile_arc hostile_helo_injection hostile_mailfrom_quoted hostile_dkim_garbage; do
	delivered "$c"
done

# forged Authentication-Results (three, ours, at indexes 1, 3 and 4) and a
# forged tag header go; the foreign one (index 2) stays, under ours
cat >"$W/forged.want" <<'EOF'
hdr Authentication-Results=mx.example.test;\n\tspf=pass smtp.mailfrom=alice@spf-pass.example.test;\n\tspf=pass smtp.helo=client.example.test;\n\tdkim=none;\n\tdmarc=none header.from=nodmarc.test
hdr Authentication-Results=other.example; dkim=pass header.d=other.example
EOF
delivered hostile_forged_authres "$W/forged.want"
# the same with a blank before the colon: the MTA knows it by that name
cat >"$W/spaced.want" <<'EOF'
hdr Authentication-Results=mx.example.test;\n\tspf=pass smtp.mailfrom=alice@spf-pass.example.test;\n\tspf=pass smtp.helo=client.example.test;\n\tdkim=none;\n\tdmarc=none header.from=nodmarc.test
hdr Authentication-Results=other.example; none
EOF
delivered hostile_forged_authres_spaced "$W/spaced.want"

# only a real MTA carries these: 1100 headers, 1.2 MB of headers (552 5.3.4),
# a 50 KB From header (read to its end), NUL bytes
refused e2e_header_count "552 5.3.4 Message header size or count exceeds limit"
refused e2e_header_bytes "552 5.3.4 Message header size or count exceeds limit"
cat >"$W/cases/e2e_long_from.case" <<EOF
MAILFROM=alice@spf-pass.example.test
EOF
cp "$W/cases/e2e_long_from.case" "$W/cases/e2e_long_from_ok.case"
cp "$W/cases/e2e_long_from.case" "$W/cases/e2e_nul_from.case"
cp "$W/cases/e2e_long_from.case" "$W/cases/e2e_nul_body.case"
refused e2e_long_from "550 5.7.1 Message rejected by the DMARC policy of reject.test (p=reject)"
printf 'hdr Authentication-Results=%s\n' 'mx.example.test;\n\tspf=pass smtp.mailfrom=alice@spf-pass.example.test;\n\tspf=pass smtp.helo=client.example.test;\n\tdkim=none;\n\tdmarc=none header.from=nodmarc.test' >"$W/long.want"
delivered e2e_long_from_ok "$W/long.want"
# A NUL byte in the From header: Postfix cuts the header there, in what
# it hands the milter and in what it delivers alike; the address after the
# NUL is gone from both, so mailwarden judges what the reader will see.
delivered e2e_nul_from "$W/long.want"
f=$(sink_file e2e_nul_from)
grep -aqx 'From: alice@nodmarc.test' "$f" || mw_fail "the delivered From header is not the one judged"
printf 'hdr Authentication-Results=%s\n' 'mx.example.test;\n\tspf=pass smtp.mailfrom=alice@spf-pass.example.test;\n\tspf=pass smtp.helo=client.example.test;\n\tdkim=pass header.d=reject.test header.s=sel1 header.b=@B@;\n\tdmarc=pass (p=reject) header.from=reject.test' >"$W/nulbody.want"
b=$(/usr/bin/python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import cases; print(cases.btag(open(sys.argv[2], "rb").read().split(b"\r\n", 1)[1]))' \
	"$MW_SRCDIR/tests/inbound" "$W/cases/e2e_nul_body.eml")
sed -i "s|@B@|$b|" "$W/nulbody.want"
delivered e2e_nul_body "$W/nulbody.want"

# --- quarantine, the tag way; temperror accepted ------------------------------
n=$(grep -c "reloaded configuration" "$W/mailwarden.log")
conf 'dmarc_quarantine = "tag"' 'temperror_action = "accept"' 'received_spf = yes' \
	'spf_fail_reject = yes' 'max_signatures = 2'
kill -HUP "$MW_PID"
for i in $(seq 1 100); do
	[ "$(grep -c "reloaded configuration" "$W/mailwarden.log")" -gt "$n" ] && break
	sleep 0.05
done
for c in tag_quarantine tag_temperror_accept tag_spf_fail_with_policy tag_max_signatures; do
	delivered "$c"
done
refused tag_spf_fail_reject "$(from_want tag_spf_fail_reject)"

kill -0 "$MW_PID" 2>/dev/null || mw_fail "mailwarden died"
[ ${#failed[@]} -eq 0 ] || mw_fail "${#failed[@]} case(s) failed: ${failed[*]}"
cat "$W"/e2e.*.out >"$W/all.out"
$CASES authres "$W/all.out" >"$W/authres.log" 2>&1 ||
	mw_fail "python3-authres refused a delivered header: $(tail -5 "$W/authres.log")"
n=$(grep -c '^hdr Authentication-Results=' "$W/all.out")
grep -q "^parsed $n headers\$" "$W/authres.log" || mw_fail "authres parsed fewer than $n headers"
[ "$(grep -c '^mx.example.test ' "$W/authres.log")" -eq $((n - 2)) ] ||
	mw_fail "expected $((n - 2)) of our headers and the 2 foreign ones: $(cat "$W/authres.log")"
echo "PASS: inbound checks through Postfix; $n delivered Authentication-Results headers parsed"
