#!/usr/bin/python3
"""cases.py - keys, zones, messages and expected outcomes of the inbound tests.

usage:
    cases.py setup WORKDIR
        WORKDIR/zones/test.zone and _dmarc.down.example.zone (for nsd),
        WORKDIR/psl.dat (Debian's public suffix list plus "test"),
        WORKDIR/keys/*, and for every case WORKDIR/cases/NAME.eml (the
        message, CRLF), NAME.case (envelope for drive.lua) and NAME.want
        (drive.lua's expected output); WORKDIR/cases/PHASE.list names the
        cases of each configuration phase, in order.
    cases.py authres FILE
        Parse every "hdr Authentication-Results=" line of FILE (drive.lua
        output) with python3-authres; print "method=result" per result.
    cases.py sinkhdrs SINKFILE NAME...
        The named header fields of a message smtp-sink received, in
        drive.lua's "hdr NAME=VALUE" form (folding as \n, tabs as \t).

Messages are signed by python3-dkim (dkimpy), independently of libopendkim.
Names: the client is 192.0.2.10 with HELO client.example.test; everything
lives under the "test" TLD served by one nsd zone, except down.example,
whose only served name is _dmarc.down.example (all else under it is
REFUSED by nsd: a temporary DNS error).
"""
import base64
import os
import re
import subprocess
import sys
import time

ID = "mx.example.test"
IP = "192.0.2.10"
HELO = "client.example.test"
TSPECIALS = '()<>@,;:\\"/[]?='
PSL = "/usr/share/publicsuffix/public_suffix_list.dat"


# --- keys ---------------------------------------------------------------

def rsa_key(path, bits):
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", path, str(bits)],
                   check=True, capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", path, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return open(path, "rb").read(), base64.b64encode(der).decode()


def ed_key():
    import nacl.encoding
    import nacl.signing
    sk = nacl.signing.SigningKey.generate()
    priv = sk.encode(encoder=nacl.encoding.Base64Encoder)
    pub = base64.b64encode(bytes(sk.verify_key)).decode()
    return priv, pub


# --- DNS ----------------------------------------------------------------

def txt(s):
    """A TXT RDATA: strings of at most 255 bytes."""
    return " ".join('"%s"' % s[i:i + 250] for i in range(0, len(s), 250))


def zone_test(rsa_pub, ed_pub, small_pub):
    dkim = "v=DKIM1; k=rsa; p=" + rsa_pub
    r = [
        "$TTL 300",
        "@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300",
        "@ IN NS ns.test.",
        "ns IN A 127.0.0.1",
        # the client's HELO name
        "client.example IN A 192.0.2.10",
        "client.example IN TXT " + txt("v=spf1 ip4:192.0.2.10 -all"),
        "helo-fail.example IN TXT " + txt("v=spf1 -all"),
        # SPF, one result each (MAIL FROM domains)
        "spf-pass.example IN TXT " + txt("v=spf1 ip4:192.0.2.10 -all"),
        "spf-fail.example IN TXT " + txt("v=spf1 ip4:198.51.100.1 -all"),
        "spf-soft.example IN TXT " + txt("v=spf1 ~all"),
        "spf-neutral.example IN TXT " + txt("v=spf1 ?all"),
        "spf-none.example IN A 198.51.100.1",
        "spf-perm.example IN TXT " + txt("v=spf1 bogus:x -all"),
        "spf-multi.example IN TXT " + txt("v=spf1 -all"),
        "spf-multi.example IN TXT " + txt("v=spf1 ip4:192.0.2.10 -all"),
        "v6.example IN TXT " + txt("v=spf1 ip6:2001:db8::10 -all"),
        "match.example IN A 192.0.2.10",
        "macro-ok.example IN TXT " + txt("v=spf1 exists:%{i}.ok.example.test -all"),
        "192.0.2.10.ok.example IN A 127.0.0.2",
        "macro-long.example IN TXT " + txt("v=spf1 exists:" + "%{l}" * 40 + ".example.test -all"),
    ]
    r += ["h%d.example IN A 198.51.100.%d" % (i, i) for i in range(1, 12)]
    a = lambda lo, hi: " ".join("a:h%d.example.test" % i for i in range(lo, hi + 1))
    r += [
        # RFC 7208 4.6.4: 10 DNS terms pass, an 11th is a permerror, also
        # when it is the one that matches, and across includes
        "t10.example IN TXT " + txt("v=spf1 %s ip4:192.0.2.10 -all" % a(1, 10)),
        "t11.example IN TXT " + txt("v=spf1 %s a:match.example.test -all" % a(1, 10)),
        "tinc.example IN TXT " + txt("v=spf1 include:inc1.example.test include:inc2.example.test -all"),
        "inc1.example IN TXT " + txt("v=spf1 %s ?all" % a(1, 5)),
        "inc2.example IN TXT " + txt("v=spf1 %s ip4:192.0.2.10 -all" % a(6, 10)),
        # two void lookups are fine, a third is a permerror
        "v2.example IN TXT " + txt("v=spf1 a:nx1.example.test a:nx2.example.test ip4:192.0.2.10 -all"),
        "v3.example IN TXT " + txt("v=spf1 a:nx1.example.test a:nx2.example.test "
                                   "a:nx3.example.test ip4:192.0.2.10 -all"),
        # DKIM keys
        "sel1._domainkey.example IN TXT " + txt(dkim),
        "ed._domainkey.example IN TXT " + txt("v=DKIM1; k=ed25519; p=" + ed_pub),
        "small._domainkey.example IN TXT " + txt("v=DKIM1; k=rsa; p=" + small_pub),
        "revoked._domainkey.example IN TXT " + txt("v=DKIM1; k=rsa; p="),
    ]
    # DMARC: one organizational domain per policy
    dmarc = {
        "reject": "v=DMARC1; p=reject",
        "quar": "v=DMARC1; p=quarantine",
        "none": "v=DMARC1; p=none",
        "pct0": "v=DMARC1; p=reject; pct=0",
        "pct100": "v=DMARC1; p=reject; pct=100",
        "parent": "v=DMARC1; p=none; sp=reject",
        "strict": "v=DMARC1; p=reject; adkim=s; aspf=s",
        "relaxed": "v=DMARC1; p=reject",
        "bad": "v=DMARC1; p=bogus",
        "never": "v=DMARC1; p=reject",
        "tagme": "v=DMARC1; p=reject",
        "xn--bcher-kva": "v=DMARC1; p=reject",
    }
    for d, rec in dmarc.items():
        r.append("_dmarc.%s IN TXT %s" % (d, txt(rec)))
        r.append("sel1._domainkey.%s IN TXT %s" % (d, txt(dkim)))
        r.append("%s IN TXT %s" % (d, txt("v=spf1 ip4:192.0.2.10 -all")))
    r += [
        "_dmarc.multi IN TXT " + txt("v=DMARC1; p=none"),
        "_dmarc.multi IN TXT " + txt("v=DMARC1; p=reject"),
        "nodmarc IN TXT " + txt("v=spf1 ip4:192.0.2.10 -all"),
        "bounce.strict IN TXT " + txt("v=spf1 ip4:192.0.2.10 -all"),
        "bounce.relaxed IN TXT " + txt("v=spf1 ip4:192.0.2.10 -all"),
        "sel1._domainkey.mail.strict IN TXT " + txt(dkim),
        "sel1._domainkey.mail.relaxed IN TXT " + txt(dkim),
    ]
    return "\n".join(r) + "\n"


def zone_down():
    return "\n".join([
        "$TTL 300",
        "@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300",
        "@ IN NS ns.test.",
        "@ IN TXT " + txt("v=DMARC1; p=reject"),
    ]) + "\n"


# --- messages -----------------------------------------------------------

def message(frm="Alice <alice@example.test>", before=(), extra=(), subject="test",
            body=b"Hello.\r\n"):
    """A message, CRLF. frm: one From value, a list of them, or None."""
    h = list(before)
    for f in ([] if frm is None else [frm] if isinstance(frm, str) else frm):
        h.append("From: " + f)
    h += ["To: Bob <bob@example.org>", "Subject: " + subject,
          "Date: Mon, 23 Nov 2026 07:00:00 +0000",
          "Message-ID: <%d.test@client.example.test>" % (len(body) + len(subject))]
    h += list(extra)
    return ("\r\n".join(h) + "\r\n\r\n").encode() + body


def sign(msg, d, s="sel1", key=None, alg=b"rsa-sha256", canon=(b"relaxed", b"simple"),
         expire=False, headers=None):
    """msg with a DKIM-Signature from dkimpy on top."""
    import dkim
    key = key or KEYS["rsa"]
    hdrs = headers or [b"from", b"to", b"subject", b"date", b"message-id"]
    if not expire:
        return dkim.sign(msg, s.encode(), d.encode(), key, canonicalize=canon,
                         signature_algorithm=alg, include_headers=hdrs) + msg
    # t= ten days ago and x= nine days ago: a valid, expired signature
    orig_gen, orig_time = dkim.DKIM.gen_header, dkim.time.time
    past = int(time.time()) - 10 * 86400

    def gen_header(self, fields, *a, **k):
        if fields and fields[0][0] == b"v":
            i = [f[0] for f in fields].index(b"h")
            fields.insert(i, (b"x", str(past + 86400).encode()))
        return orig_gen(self, fields, *a, **k)
    dkim.DKIM.gen_header = gen_header
    dkim.time.time = lambda: past
    try:
        return dkim.sign(msg, s.encode(), d.encode(), key, canonicalize=canon,
                         signature_algorithm=alg, include_headers=hdrs) + msg
    finally:
        dkim.DKIM.gen_header, dkim.time.time = orig_gen, orig_time


def btag(msg, n=0):
    """header.b as mailwarden writes it: the first 8 characters of b=."""
    sigs = re.findall(rb"^DKIM-Signature:(.*?)\r\n(?![ \t])", msg, re.M | re.S)
    val = re.sub(rb"\s+", b"", sigs[n]).decode()
    b = re.search(r"(?:^|;)b=([^;]*)", val).group(1)[:8]
    return '"%s"' % b if any(c in TSPECIALS for c in b) else b


def drop_tag(msg, tag):
    """Remove one tag (e.g. "s") from the first DKIM-Signature."""
    return re.sub(rb"(DKIM-Signature:.*?)\b" + tag.encode() + rb"=[^;]*;\s*", rb"\1",
                  msg, count=1, flags=re.S)


# --- expected results ---------------------------------------------------

def ar(*results):
    return ID + "".join(";\n\t" + r for r in results)


def esc(s):
    return s.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


def hdr(value, name="Authentication-Results"):
    return "hdr %s=%s" % (name, esc(value))


SPF_HELO = "spf=pass smtp.helo=" + HELO
MF = "alice@spf-pass.example.test"
SPF_MF = "spf=pass smtp.mailfrom=" + MF


def dkim_res(result, d, s, b=None, why=None):
    return "dkim=%s%s header.d=%s header.s=%s%s" % (
        result, " (%s)" % why if why else "", d, s, " header.b=" + b if b else "")


def rejected(text):
    return ["reply=y", "smtp=550 5.7.1 " + text]


def from_refused(why):
    return rejected("Message rejected: %s; DMARC requires exactly one From header "
                    "with its domain" % why)


# --- the cases ----------------------------------------------------------

CASES = []


def case(name, msg, want, phase="default", mailfrom=MF, **env):
    CASES.append(dict(name=name, msg=msg, want=want, phase=phase, mailfrom=mailfrom, env=env))


def spf_cases():
    plain = message()
    for dom, res in [("spf-pass", "pass"), ("spf-fail", "fail"), ("spf-soft", "softfail"),
                     ("spf-neutral", "neutral"), ("spf-none", "none"),
                     ("t10", "pass"), ("v2", "pass"), ("macro-ok", "pass")]:
        mf = "alice@%s.example.test" % dom
        case("spf_" + dom.replace("-", "_"), plain, ["reply=c", hdr(ar(
            "spf=%s smtp.mailfrom=%s" % (res, mf), SPF_HELO, "dkim=none",
            "dmarc=none header.from=example.test"))], mailfrom=mf)
    for dom, why in [("spf-perm", "Unknown mechanism found"),
                     ("spf-multi", "Multiple SPF or TXT records for domain."),
                     ("t11", "more than 10 DNS-querying terms"),
                     ("tinc", "more than 10 DNS-querying terms"),
                     ("v3", "more than 2 void DNS lookups"),
                     ("macro-long", "SPF record with an over-long macro term")]:
        mf = "alice@%s.example.test" % dom
        case("spf_" + dom.replace("-", "_"), plain, ["reply=c", hdr(ar(
            "spf=permerror (%s) smtp.mailfrom=%s" % (why, mf), SPF_HELO, "dkim=none",
            "dmarc=none header.from=example.test"))], mailfrom=mf)
    case("spf_temperror", plain, ["reply=c", hdr(ar(
        "spf=temperror smtp.mailfrom=alice@down.example", SPF_HELO, "dkim=none",
        "dmarc=none header.from=example.test"))], mailfrom="alice@down.example")
    case("spf_helo_fail", plain, ["reply=c", hdr(ar(
        SPF_MF, "spf=fail smtp.helo=helo-fail.example.test", "dkim=none",
        "dmarc=none header.from=example.test"))], HELO="helo-fail.example.test")
    case("spf_helo_literal", plain, ["reply=c", hdr(ar(
        SPF_MF, 'spf=none (HELO is not a domain name) smtp.helo="[192.0.2.10]"',
        "dkim=none", "dmarc=none header.from=example.test"))], HELO="[192.0.2.10]")
    case("spf_null_sender", plain, ["reply=c", hdr(ar(
        SPF_HELO, "dkim=none", "dmarc=none header.from=example.test"))], mailfrom="")
    case("spf_ipv6", plain, ["reply=c", hdr(ar(
        "spf=pass smtp.mailfrom=alice@v6.example.test",
        "spf=fail smtp.helo=" + HELO, "dkim=none",
        "dmarc=none header.from=example.test"))], mailfrom="alice@v6.example.test",
        CLIENT_ADDR="2001:db8::10")


def dkim_cases():
    base = message()
    tail = "dmarc=none header.from=example.test"

    def one(name, m, res="pass", why=None, d="example.test", s="sel1", b=True):
        case("dkim_" + name, m, ["reply=c", hdr(ar(
            SPF_MF, SPF_HELO, dkim_res(res, d, s, btag(m) if b else None, why), tail))])
    one("pass", sign(base, "example.test"))
    one("pass_simple", sign(base, "example.test", canon=(b"simple", b"simple")))
    one("pass_ed25519", sign(base, "example.test", s="ed", key=KEYS["ed"],
                             alg=b"ed25519-sha256"), s="ed")
    m = sign(base, "example.test")
    one("fail_body", m.replace(b"Hello.", b"Hello!"), "fail", "body hash mismatch")
    one("fail_header", m.replace(b"Subject: test", b"Subject: best"), "fail",
        "signature mismatch")
    nos = drop_tag(sign(base, "example.test"), "s")
    case("dkim_neutral", nos, ["reply=c", hdr(ar(
        SPF_MF, SPF_HELO, "dkim=neutral (malformed signature) header.d=example.test "
        "header.b=" + btag(nos), tail))])
    one("policy_small", sign(base, "example.test", s="small", key=KEYS["small"]), "policy",
        "key too small", s="small")
    one("policy_expired", sign(base, "example.test", expire=True), "policy",
        "signature expired")
    one("policy_sha1", sign(base, "example.test", alg=b"rsa-sha1"), "policy",
        "rsa-sha1 not accepted")
    one("temperror", sign(base, "down.example"), "temperror", "key lookup failed",
        d="down.example")
    one("permerror_nokey", sign(base, "example.test", s="nokey"), "permerror", "no key",
        s="nokey")
    one("permerror_revoked", sign(base, "example.test", s="revoked"), "permerror",
        "key revoked", s="revoked")
    two = sign(sign(base, "example.test"), "example.test", s="ed", key=KEYS["ed"],
               alg=b"ed25519-sha256")
    two = two.replace(b"Hello.", b"Hello?")
    case("dkim_two_fail", two, ["reply=c", hdr(ar(
        SPF_MF, SPF_HELO,
        dkim_res("fail", "example.test", "ed", btag(two, 0), "body hash mismatch"),
        dkim_res("fail", "example.test", "sel1", btag(two, 1), "body hash mismatch"), tail))])
    bad = sign(sign(base, "example.test"), "reject.test").replace(b"Subject: test",
                                                                b"Subject: tesT")
    m3 = sign(bad, "example.test", s="ed", key=KEYS["ed"], alg=b"ed25519-sha256")
    case("dkim_two_mixed", m3, ["reply=c", hdr(ar(
        SPF_MF, SPF_HELO,
        dkim_res("pass", "example.test", "ed", btag(m3, 0)),
        dkim_res("fail", "reject.test", "sel1", btag(m3, 1), "signature mismatch"),
        dkim_res("fail", "example.test", "sel1", btag(m3, 2), "signature mismatch"), tail))])


def dmarc_cases():
    def accept(name, frm, dmarc, mailfrom=MF, dkim="dkim=none", m=None, spf=None, **env):
        m = m or message(frm)
        spf = spf or "spf=pass smtp.mailfrom=" + mailfrom
        res = [dmarc] if isinstance(dmarc, str) else dmarc
        case("dmarc_" + name, m, ["reply=c", hdr(ar(spf, SPF_HELO, dkim, *res))],
             mailfrom=mailfrom, **env)

    accept("pass_spf", "alice@reject.test", "dmarc=pass (p=reject) header.from=reject.test",
           mailfrom="alice@reject.test")
    m = sign(message("alice@reject.test"), "reject.test")
    accept("pass_dkim", None, "dmarc=pass (p=reject) header.from=reject.test", m=m,
           dkim=dkim_res("pass", "reject.test", "sel1", btag(m)))
    case("dmarc_reject", message("alice@reject.test"),
         rejected("Message rejected by the DMARC policy of reject.test (p=reject)"))
    case("dmarc_quarantine_hold", message("alice@quar.test"), ["reply=c", hdr(ar(
        SPF_MF, SPF_HELO, "dkim=none", "dmarc=fail (p=quarantine dis=quarantine) "
        "header.from=quar.test policy.dmarc=quarantine")),
        "quarantine=DMARC policy quarantine of quar.test"],
        QUARANTINE="DMARC policy quarantine of quar.test")
    accept("none", "alice@none.test",
           "dmarc=fail (p=none dis=none) header.from=none.test policy.dmarc=none")
    case("dmarc_pct0", message("alice@pct0.test"), ["reply=c", hdr(ar(
        SPF_MF, SPF_HELO, "dkim=none", "dmarc=fail (p=reject pct=0 dis=quarantine) "
        "header.from=pct0.test policy.dmarc=quarantine")),
        "quarantine=DMARC policy quarantine of pct0.test"],
        QUARANTINE="DMARC policy quarantine of pct0.test")
    case("dmarc_pct100", message("alice@pct100.test"),
         rejected("Message rejected by the DMARC policy of pct100.test (p=reject)"))
    case("dmarc_sp_subdomain", message("alice@sub.parent.test"),
         rejected("Message rejected by the DMARC policy of sub.parent.test (sp=reject)"))
    accept("p_parent", "alice@parent.test",
           "dmarc=fail (p=none dis=none) header.from=parent.test policy.dmarc=none")
    accept("relaxed_spf", "alice@relaxed.test",
           "dmarc=pass (p=reject) header.from=relaxed.test", mailfrom="b@bounce.relaxed.test")
    case("dmarc_strict_spf", message("alice@strict.test"),
         rejected("Message rejected by the DMARC policy of strict.test (p=reject)"),
         mailfrom="b@bounce.strict.test")
    m = sign(message("alice@relaxed.test"), "mail.relaxed.test")
    accept("relaxed_dkim", None, "dmarc=pass (p=reject) header.from=relaxed.test", m=m,
           dkim=dkim_res("pass", "mail.relaxed.test", "sel1", btag(m)))
    case("dmarc_strict_dkim", sign(message("alice@strict.test"), "mail.strict.test"),
         rejected("Message rejected by the DMARC policy of strict.test (p=reject)"))
    accept("no_policy", "alice@nodmarc.test", "dmarc=none header.from=nodmarc.test")
    accept("several_records", "alice@multi.test",
           "dmarc=permerror (several DMARC records) header.from=multi.test")
    accept("bad_record", "alice@bad.test",
           "dmarc=permerror (malformed DMARC record) header.from=bad.test")
    case("dmarc_temperror", message("alice@tempfail.example"),
         ["reply=y", "smtp=451 4.4.3 DMARC policy of tempfail.example cannot be "
          "evaluated now (DNS), try again later"])
    case("dmarc_temperror_aligned", sign(message("alice@down.example"), "down.example"),
         ["reply=y", "smtp=451 4.4.3 DMARC policy of down.example cannot be "
          "evaluated now (DNS), try again later"])
    case("dmarc_never_reject", message("alice@never.test"), ["reply=c", hdr(ar(
        SPF_MF, SPF_HELO, "dkim=none", "dmarc=fail (p=reject dis=quarantine) "
        "header.from=never.test policy.dmarc=reject")),
        "quarantine=DMARC policy reject of never.test"],
        QUARANTINE="DMARC policy reject of never.test")
    case("dmarc_always_tag", message("alice@tagme.test"), ["reply=c", hdr(ar(
        SPF_MF, SPF_HELO, "dkim=none", "dmarc=fail (p=reject dis=quarantine) "
        "header.from=tagme.test policy.dmarc=reject")),
        hdr("DMARC policy reject of tagme.test", "X-Mailwarden-Quarantine")])


def hostile_cases():
    none = "dmarc=none header.from=nodmarc.test"

    def accept(name, frm, dmarc=none, mailfrom=MF, before=(), extra=(), want_extra=()):
        res = [dmarc] if isinstance(dmarc, str) else dmarc
        case("hostile_" + name, message(frm, before=before, extra=extra), ["reply=c", hdr(ar(
            "spf=pass smtp.mailfrom=" + mailfrom, SPF_HELO, "dkim=none", *res))]
            + list(want_extra), mailfrom=mailfrom)

    case("hostile_no_from", message(None), from_refused("no From header"))
    case("hostile_two_from", message(["alice@nodmarc.test", "alice@reject.test"]),
         from_refused("several From headers"))
    case("hostile_multi_addr_reject", message("a@nodmarc.test, b@reject.test"),
         rejected("Message rejected by the DMARC policy of reject.test (p=reject)"))
    case("hostile_multi_addr_reject_first", message("b@reject.test, a@nodmarc.test"),
         rejected("Message rejected by the DMARC policy of reject.test (p=reject)"))
    accept("multi_addr_each", "a@reject.test, b@none.test", [
        "dmarc=pass (p=reject) header.from=reject.test",
        "dmarc=fail (p=none dis=none) header.from=none.test policy.dmarc=none"],
        mailfrom="alice@reject.test")
    case("hostile_group", message("Team: a@nodmarc.test, b@reject.test;"),
         rejected("Message rejected by the DMARC policy of reject.test (p=reject)"))
    accept("comment", "(b@reject.test) alice@nodmarc.test (Alice)")
    accept("quoted", '"b@reject.test" <alice@nodmarc.test>')
    accept("encoded_word", "=?utf-8?q?b=40reject.test?= <alice@nodmarc.test>")
    case("hostile_encoded_raw_at", message("=?utf-8?q?b@reject.test?= <alice@nodmarc.test>"),
         from_refused("unusable From header: domain is not a valid host name"))
    case("hostile_idn", message("J\u00f6rg <j@b\u00fccher.test>"),
         rejected("Message rejected by the DMARC policy of xn--bcher-kva.test (p=reject)"))
    case("hostile_unterminated", message("Alice <alice@reject.test"),
         from_refused("unusable From header: unterminated address"))
    case("hostile_comment_domain", message("alice@example.net(.example.com"),
         from_refused("unusable From header: unterminated comment"))
    case("hostile_from_space_name", message(None, extra=["From : alice@reject.test"]),
         rejected("Message rejected by the DMARC policy of reject.test (p=reject)"))
    case("hostile_two_from_space", message("alice@nodmarc.test",
                                           extra=["From : alice@reject.test"]),
         from_refused("several From headers"))
    accept("arc", "alice@nodmarc.test", before=[
        "ARC-Seal: i=1; a=rsa-sha256; cv=none; d=reject.test; s=sel1; b=AAAA",
        "ARC-Message-Signature: i=1; a=rsa-sha256; d=reject.test; s=sel1; h=from; bh=AAAA; b=AAAA",
        "ARC-Authentication-Results: i=1; mx.example.test; dkim=pass header.d=reject.test"])
    accept("many_headers", "alice@nodmarc.test",
           extra=["X-Filler-%d: %s" % (i, "x" * 20) for i in range(600)])
    forged = [
        "Authentication-Results: mx.example.test; spf=pass smtp.mailfrom=x@reject.test",
        "Authentication-Results: other.example; dkim=pass header.d=other.example",
        "Authentication-Results: (forged) MX.EXAMPLE.TEST 1; dmarc=pass",
        'Authentication-Results: "mx.example.test"; none',
        "X-Mailwarden-Quarantine: no",
    ]
    accept("forged_authres", "alice@nodmarc.test", before=forged, want_extra=[
        "delete Authentication-Results 1", "delete Authentication-Results 3",
        "delete Authentication-Results 4", "delete X-Mailwarden-Quarantine 1"])
    case("hostile_outbound", message("alice@reject.test", before=forged), ["reply=c"],
         CLIENT_ADDR="127.0.0.1")
    accept("forged_authres_spaced", "alice@nodmarc.test", before=[
        "Authentication-Results : mx.example.test; dkim=pass header.d=reject.test",
        "Authentication-Results: other.example; none"],
        want_extra=["delete Authentication-Results  1"])
    case("hostile_helo_injection", message("alice@nodmarc.test"), ["reply=c", hdr(ar(
        SPF_MF, 'spf=none (HELO is not a domain name) smtp.helo="x; dkim=pass '
        'header.d=reject.test"', "dkim=none", "dmarc=none header.from=nodmarc.test"))],
        HELO="x; dkim=pass header.d=reject.test")
    case("hostile_mailfrom_quoted", message("alice@nodmarc.test"), ["reply=c", hdr(ar(
        "spf=pass smtp.mailfrom=spf-pass.example.test", SPF_HELO, "dkim=none",
        "dmarc=none header.from=nodmarc.test"))], mailfrom='"a;b c"@spf-pass.example.test')
    garbage = message("alice@nodmarc.test", before=["DKIM-Signature: garbage; d=reject.test"])
    case("hostile_dkim_garbage", garbage, ["reply=c", hdr(ar(
        SPF_MF, SPF_HELO, "dkim=neutral (malformed signature)",
        "dmarc=none header.from=nodmarc.test"))])


def phase_cases():
    # dmarc_quarantine = tag, temperror_action = accept, received_spf = yes,
    # spf_fail_reject = yes, max_signatures = 2
    case("tag_quarantine", message("alice@quar.test"), ["reply=c", hdr(ar(
        SPF_MF, SPF_HELO, "dkim=none", "dmarc=fail (p=quarantine dis=quarantine) "
        "header.from=quar.test policy.dmarc=quarantine")),
        hdr("pass (mx.example.test: domain spf-pass.example.test designates 192.0.2.10 "
            "as permitted sender)\n\tclient-ip=192.0.2.10; envelope-from=\"%s\"; "
            "helo=client.example.test;\n\treceiver=mx.example.test; identity=mailfrom;" % MF,
            "Received-SPF"),
        hdr("DMARC policy quarantine of quar.test", "X-Mailwarden-Quarantine")], phase="tag")
    case("tag_temperror_accept", message("alice@tempfail.example"), ["reply=c", hdr(ar(
        SPF_MF, SPF_HELO, "dkim=none",
        "dmarc=temperror (DMARC record lookup failed) header.from=tempfail.example")),
        hdr("pass (mx.example.test: domain spf-pass.example.test designates 192.0.2.10 "
            "as permitted sender)\n\tclient-ip=192.0.2.10; envelope-from=\"%s\"; "
            "helo=client.example.test;\n\treceiver=mx.example.test; identity=mailfrom;" % MF,
            "Received-SPF")], phase="tag")
    case("tag_spf_fail_reject", message("alice@nodmarc.test"), [
        "reply=y", "smtp=550 5.7.23 SPF check failed: domain spf-fail.example.test "
        "does not permit 192.0.2.10 to send its mail"],
        mailfrom="alice@spf-fail.example.test", phase="tag")
    case("tag_spf_fail_with_policy", message("alice@none.test"), ["reply=c", hdr(ar(
        "spf=fail smtp.mailfrom=alice@spf-fail.example.test", SPF_HELO, "dkim=none",
        "dmarc=fail (p=none dis=none) header.from=none.test policy.dmarc=none")),
        hdr("fail (mx.example.test: domain spf-fail.example.test does not designate "
            "192.0.2.10 as permitted sender)\n\tclient-ip=192.0.2.10; "
            "envelope-from=\"alice@spf-fail.example.test\"; helo=client.example.test;"
            "\n\treceiver=mx.example.test; identity=mailfrom;", "Received-SPF")],
        mailfrom="alice@spf-fail.example.test", phase="tag")
    m = sign(sign(sign(message(), "example.test"), "reject.test"), "example.test", s="ed",
             key=KEYS["ed"], alg=b"ed25519-sha256")
    # a fourth, written "DKIM-Signature :", counts as one too
    i = m.index(b"From: ")
    m = m[:i] + b"DKIM-Signature : v=1; a=rsa-sha256; d=quar.test; s=sel1; h=from; bh=x; b=y\r\n" + m[i:]
    case("tag_max_signatures", m, ["reply=c", hdr(ar(
        SPF_MF, SPF_HELO,
        dkim_res("pass", "example.test", "ed", btag(m, 0)),
        dkim_res("pass", "reject.test", "sel1", btag(m, 1)),
        dkim_res("policy", "example.test", "sel1", None, "too many signatures"),
        dkim_res("policy", "quar.test", "sel1", None, "too many signatures"),
        "dmarc=none header.from=example.test")),
        hdr("pass (mx.example.test: domain spf-pass.example.test designates 192.0.2.10 "
            "as permitted sender)\n\tclient-ip=192.0.2.10; envelope-from=\"%s\"; "
            "helo=client.example.test;\n\treceiver=mx.example.test; identity=mailfrom;" % MF,
            "Received-SPF")], phase="tag")
    # dmarc_monitor_only = yes
    case("monitor_reject", message("alice@reject.test"), ["reply=c", hdr(ar(
        SPF_MF, SPF_HELO, "dkim=none",
        "dmarc=fail (p=reject dis=none) header.from=reject.test policy.dmarc=reject"))],
        phase="monitor")
    case("monitor_no_from", message(None), ["reply=c", hdr(ar(
        SPF_MF, SPF_HELO, "dkim=none", "dmarc=permerror (no From header)"))],
        phase="monitor")


KEYS = {}


def setup(w):
    for d in ("zones", "keys", "cases"):
        os.makedirs(os.path.join(w, d), exist_ok=True)
    KEYS["rsa"], rsa_pub = rsa_key(os.path.join(w, "keys", "rsa.pem"), 2048)
    KEYS["small"], small_pub = rsa_key(os.path.join(w, "keys", "small.pem"), 512)
    KEYS["ed"], ed_pub = ed_key()
    open(os.path.join(w, "zones", "test.zone"), "w").write(zone_test(rsa_pub, ed_pub, small_pub))
    open(os.path.join(w, "zones", "_dmarc.down.example.zone"), "w").write(zone_down())
    with open(os.path.join(w, "psl.dat"), "w") as f:
        f.write(open(PSL).read() + "\n// the tests' TLD\ntest\n")
    spf_cases()
    dkim_cases()
    dmarc_cases()
    hostile_cases()
    phase_cases()
    lists = {}
    for c in CASES:
        base = os.path.join(w, "cases", c["name"])
        # X-Case: finds the message in smtp-sink's files (unsigned: harmless)
        open(base + ".eml", "wb").write(b"X-Case: " + c["name"].encode() + b"\r\n" + c["msg"])
        env = dict(MSG=base + ".eml", MAILFROM=c["mailfrom"],
                   QID="Q" + c["name"].upper().replace("_", ""), **c["env"])
        if c["want"][0] == "reply=y":
            env["SMTP"] = c["want"][1][len("smtp="):]
        open(base + ".case", "w").write("".join("%s=%s\n" % kv for kv in env.items()))
        open(base + ".want", "w").write("\n".join(c["want"]) + "\n")
        lists.setdefault(c["phase"], []).append(c["name"])
    for phase, names in lists.items():
        open(os.path.join(w, "cases", phase + ".list"), "w").write("\n".join(names) + "\n")
    e2e_messages(os.path.join(w, "cases"))


def e2e_messages(d):
    """Messages only a real MTA can carry (miltertest's buffers are 1 KB)."""
    def put(name, m):
        open(os.path.join(d, name + ".eml"), "wb").write(b"X-Case: " + name.encode() + b"\r\n" + m)
    put("e2e_header_count", message("alice@nodmarc.test",
                                    extra=["X-Filler-%d: x" % i for i in range(1100)]))
    fold = lambda c, n: "\r\n ".join([c * 76] * n)	# n lines of 76
    put("e2e_header_bytes", message("alice@nodmarc.test",
                                    extra=["X-Big-%d: %s" % (i, fold("y", 800)) for i in range(20)]))
    put("e2e_long_from", message('"%s" <alice@reject.test>' % fold("z", 650)))
    put("e2e_long_from_ok", message('"%s" <alice@nodmarc.test>' % fold("z", 650)))
    m = message("alice@nodmarc.test")
    put("e2e_nul_from", m.replace(b"From: alice@nodmarc.test",
                                  b"From: alice@nodmarc.test\0, b@reject.test"))
    put("e2e_nul_body", sign(message("alice@reject.test", body=b"a\0b\r\n\0\r\n"),
                             "reject.test"))


def sink_headers(path, names):
    """The named headers of the message in an smtp-sink file, in drive.lua's
    "hdr NAME=VALUE" form, top to bottom (smtp-sink's own lines skipped)."""
    raw = open(path, "rb").read().decode("utf-8", "replace").replace("\r\n", "\n")
    head = raw.split("\n\n", 1)[0]
    fields = re.split(r"\n(?![ \t])", head)
    for f in fields:
        n, _, v = f.partition(":")
        n = n.rstrip(" \t")		# "Name :" is the same header to a reader
        if n in names:
            print("hdr %s=%s" % (n, esc(v[1:] if v.startswith(" ") else v)))


def check_authres(path):
    import authres
    n = 0
    for line in open(path, encoding="utf-8", errors="replace"):
        if not line.startswith("hdr Authentication-Results="):
            continue
        v = line.split("=", 1)[1].rstrip("\n")
        v = v.replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")
        h = authres.AuthenticationResultsHeader.parse(
            "Authentication-Results: " + v.replace("\n\t", " "))
        print(h.authserv_id, " ".join("%s=%s" % (r.method, r.result) for r in h.results))
        n += 1
    print("parsed %d headers" % n)


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(sys.argv[2])
    elif sys.argv[1] == "authres":
        check_authres(sys.argv[2])
    elif sys.argv[1] == "sinkhdrs":
        sink_headers(sys.argv[2], sys.argv[3:])
    else:
        sys.exit("usage: cases.py setup WORKDIR | authres FILE")
