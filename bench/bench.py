#!/usr/bin/python3
# bench.py - message making and probe checks of the benchmark (bench/run.sh).
#
#   bench.py mkmsg SIZE OUT DOMAIN [KEY SELECTOR]
#       Write a realistic plain-text message of about SIZE bytes from
#       alice@DOMAIN (real headers: Received, From, To, Subject, Date,
#       Message-ID, MIME) to OUT, LF line ends. With KEY (PEM RSA) it is
#       DKIM-signed d=DOMAIN, as the sending domain's MTA would have signed
#       it (relaxed/relaxed). With "unfold" after SELECTOR, the signature
#       header is written on one line (still valid: relaxed canonicalization).
#   bench.py sign DNSPORT FILE ALG...
#       The message in FILE (a smtp-sink dump, or a message as miltergen -o
#       writes it) must carry a DKIM signature
#       of each algorithm ALG (rsa-sha256, ed25519-sha256), and each of them
#       must verify against the DNS server on 127.0.0.1:DNSPORT.
#   bench.py authres FILE AUTHSERV METHOD=RESULT...
#       Authentication-Results headers of AUTHSERV in FILE (as above),
#       taken together, must report each METHOD with RESULT (dkim=pass ...).
#   bench.py plain FILE
#       FILE is a complete sink dump of the benchmark message.
#
# Exit 0 when the check holds; 1 with the reason on stderr otherwise.
# Needs Debian's python3-dkim, python3-dnspython, python3-authres, python3-nacl.
import sys
import time
import email.utils

WORDS = ("The quarterly figures are attached below; please check the totals "
         "against the ledger before Friday and send corrections to the list. "
         "Numbers in the second table changed since the draft of last week. ")


def fail(why):
    sys.stderr.write("probe check failed: %s\n" % why)
    sys.exit(1)


def mkmsg(size, out, domain, key=None, selector=None, unfold=None):
    date = email.utils.formatdate(time.time(), localtime=False)
    hdrs = [
        "Received: from mail.@D@ (mail.@D@ [192.0.2.25])\n"
        "\tby out1.@D@ (Postfix) with ESMTPS id 4XbQ1k2Zz3z9sWn\n"
        "\tfor <bob@example.org>; %s" % date,
        "Received: from [10.1.2.3] (laptop.@D@ [10.1.2.3])\n"
        "\t(Authenticated sender: alice)\n"
        "\tby mail.@D@ (Postfix) with ESMTPSA id 4XbQ1j6Yq9z9sWm\n"
        "\tfor <bob@example.org>; %s" % date,
        "From: Alice Example <alice@@D@>",
        "To: Bob Example <bob@example.org>",
        "Subject: Quarterly figures for the benchmark run",
        "Date: %s" % date,
        "Message-ID: <20261123.4XbQ1j6Yq9@mail.@D@>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8; format=flowed",
        "Content-Transfer-Encoding: 8bit",
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Thunderbird/115.5.0",
        "Content-Language: en-GB",
    ]
    head = ("\n".join(hdrs) + "\n").replace("@D@", domain)
    body, words, w, line = [], WORDS.split(), 0, ""
    total = len(head) + 1 + (560 if key else 0)
    while total + len(line) + 1 < size:
        word = words[w % len(words)]
        w += 1
        if len(line) + 1 + len(word) > 72:
            body.append(line)
            total += len(line) + 1
            line = ""
        line = (line + " " + word) if line else word
    body.append(line)
    msg = (head + "\n" + "\n".join(body) + "\n").encode()
    if key:
        import dkim
        sig = dkim.sign(msg.replace(b"\n", b"\r\n"), selector.encode(), domain.encode(),
                        open(key, "rb").read(),
                        canonicalize=(b"relaxed", b"relaxed"),
                        include_headers=[b"from", b"to", b"subject", b"date",
                                         b"message-id", b"mime-version",
                                         b"content-type"])
        sig = sig.replace(b"\r\n", b"\n")
        if unfold == "unfold":
            sig = b" ".join(x.strip() for x in sig.split(b"\n") if x.strip()) + b"\n"
        msg = sig + msg
    open(out, "wb").write(msg)


def sink_message(path):
    """The message of a smtp-sink dump: past smtp-sink's own envelope lines
    and its three-line Received header; without the empty line it appends.
    A file that is no dump (miltergen -o) is the message itself."""
    raw = open(path, "rb").read()
    if not raw.startswith(b"X-Client-Addr: "):
        return raw
    lines = raw.split(b"\n")
    i = 0
    while i < len(lines) and not lines[i].startswith(b"Received: "):
        i += 1
    if i == len(lines):
        fail("%s is not a smtp-sink dump" % path)
    i += 1
    while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
        i += 1
    msg = b"\r\n".join(lines[i:])
    if not msg.endswith(b"\r\n\r\n"):
        fail("%s: the message is not complete" % path)
    return msg[:-2]


def headers(msg, name):
    """Unfolded values of every header NAME."""
    out, cur = [], None
    for line in msg.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and cur is not None:
            cur += b" " + line.strip()
            out[-1] = cur
            continue
        cur = None
        k, _, v = line.partition(b":")
        if k.strip().lower() == name.lower().encode():
            cur = v.strip()
            out.append(cur)
    return [v.decode("utf-8", "replace") for v in out]


def resolver(port):
    import dns.resolver
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = ["127.0.0.1"]
    res.port = int(port)
    res.timeout = res.lifetime = 5

    def txt(name, timeout=5):
        try:
            ans = res.resolve(name.decode(), "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        return b"".join(b"".join(r.strings) for r in ans)
    return txt


def check_sign(port, path, algs):
    import dkim
    msg = sink_message(path)
    sigs = headers(msg, "DKIM-Signature")
    found = []
    for s in sigs:
        tags = dict(t.strip().split("=", 1) for t in s.split(";") if "=" in t)
        found.append(tags.get("a", "").replace(" ", ""))
    for a in algs:
        if a not in found:
            fail("no DKIM-Signature with a=%s (found: %s)" % (a, found or "none"))
    d = dkim.DKIM(msg)
    txt = resolver(port)
    for i in range(len(sigs)):
        if not d.verify(idx=i, dnsfunc=txt):
            fail("DKIM signature %d (a=%s) does not verify" % (i, found[i]))
    print("ok: %d DKIM signature(s) verify: %s" % (len(sigs), ", ".join(found)))


def check_authres(path, authserv, wanted):
    import authres
    msg = sink_message(path)
    got = {}
    for v in headers(msg, "Authentication-Results"):
        try:
            h = authres.AuthenticationResultsHeader.parse("Authentication-Results: " + v)
        except Exception as e:
            fail("Authentication-Results does not parse (%s): %s" % (e, v))
        if h.authserv_id != authserv:
            continue
        for r in h.results:
            got.setdefault(r.method, []).append(r.result)
    for w in wanted:
        m, _, res = w.partition("=")
        if res not in got.get(m, []):
            fail("%s=%s missing from Authentication-Results of %s (got %s)"
                 % (m, res, authserv, got or "no such header"))
    print("ok: Authentication-Results %s: %s" % (authserv, got))


def main(argv):
    if len(argv) >= 4 and argv[0] == "mkmsg":
        mkmsg(int(argv[1]), argv[2], *argv[3:7])
    elif len(argv) >= 3 and argv[0] == "sign":
        check_sign(argv[1], argv[2], argv[3:])
    elif len(argv) >= 3 and argv[0] == "authres":
        check_authres(argv[1], argv[2], argv[3:])
    elif len(argv) == 2 and argv[0] == "plain":
        msg = sink_message(argv[1])
        if not headers(msg, "Subject"):
            fail("no Subject in the delivered message")
        print("ok: delivered")
    else:
        sys.stderr.write(__doc__ if __doc__ else "usage: see the head of bench.py\n")
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
