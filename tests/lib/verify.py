#!/usr/bin/python3
"""verify.py - independent verifiers for mailwarden's tests, on the test's nsd.

Run with Debian's interpreter (python3-dkim, python3-spf, python3-authres,
python3-dnspython, python3-nacl); `python3` on PATH may be another one:

  /usr/bin/python3 tests/lib/verify.py [--dns-port P] COMMAND ARGS...

The DNS server is 127.0.0.1:P; P defaults to $MW_DNS_PORT (set by
mw_nsd_start, so export it or pass --dns-port). FILE may be a smtp-sink
file (its envelope lines and Received header are dropped automatically)
or a plain message; LF or CRLF line ends.

  dkim FILE [--expect pass|fail|none] [--count N] [--domain D]
      Verify every DKIM-Signature with dkimpy (RSA and Ed25519), each on
      its own. One line per signature:
        dkim[0] d=example.test s=sel1 a=rsa-sha256 result=pass
        dkim[1] d=example.test s=ed1 a=ed25519-sha256 result=fail (body hash mismatch)
      --expect pass (default): every signature passes and there is one;
      fail: at least one signature, none passes; none: no signature.
      --count N: exactly N signatures. --domain D: a passing signature
      with d=D must exist (with --expect pass).
  spf IP MAILFROM HELO [--expect RESULT]
      pyspf's check2: prints "spf=RESULT (explanation)". RESULT is one of
      pass fail softfail neutral none temperror permerror. With --expect
      the exit status says whether it matched.
  authres FILE [--authserv-id ID] [--expect 'METHOD=RESULT [PROP=VALUE...]']...
      Parse every Authentication-Results header (only those of ID when
      given) with python3-authres and print one line per result:
        mx.example.test: dkim=pass header.d=example.test header.s=sel1
      Each --expect must match some result: method and result equal, and
      each given property present with that value (case-insensitive).
      Exits 2 when a header does not parse.
  sign FILE --domain D --selector S --key KEYFILE [--alg rsa|ed25519]
          [--canon relaxed/simple] [--headers From,To,Subject]
      Sign FILE with dkimpy (a stand-in for an external sender's signer):
      the signed message, CRLF, on stdout. KEYFILE as dkimkey writes it.
  dkimkey rsa|ed25519 KEYFILE SELECTOR [--bits N]
      A new key pair (openssl; dknewkey for Ed25519; RSA 2048 bits unless
      --bits): the private key in KEYFILE, and on stdout
      the zone file line "SELECTOR._domainkey IN TXT ..." (250-byte
      strings) to append to the domain's zone.
  sinkmsg FILE
      The message part of a sink file (no envelope lines, no smtp-sink
      Received header, no trailing empty line smtp-sink adds), as it was
      relayed, with CRLF line ends, on stdout.
  envelope FILE
      The sink file's envelope: "from ADDR" then "rcpt ADDR" lines.

Exit status: 0 all as expected, 1 not as expected, 2 usage or parse error.
From Python: sys.path.insert(0, 'tests/lib'); import verify;
verify.use_dns(port); verify.dkim_results(msg_bytes) -> [(d, s, a, ok, why)].
"""
import argparse
import base64
import os
import re
import subprocess
import sys

import authres
import dkim
import dns.resolver
import spf

_RES = None

SINK_ENV = re.compile(rb'^X-(Client-Addr|Client-Proto|Helo-Args|Mail-Args|Rcpt-Args): ')


def use_dns(port, host='127.0.0.1'):
    """Send every lookup (dkimpy's and pyspf's) to host:port."""
    global _RES
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = [host]
    res.port = int(port)
    res.timeout = res.lifetime = 5
    dns.resolver.default_resolver = res     # pyspf uses the default resolver
    _RES = res


def dnsfunc(name, timeout=5):
    """dkimpy's TXT lookup, on the test's server; None when there is none."""
    try:
        ans = _RES.resolve(name.decode() if isinstance(name, bytes) else name, 'TXT')
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None
    return b''.join(b''.join(r.strings) for r in ans)


def split_sink(raw):
    """(envelope lines, message) of a smtp-sink file; plain messages pass."""
    lines = raw.replace(b'\r\n', b'\n').split(b'\n')
    i = 0
    while i < len(lines) and SINK_ENV.match(lines[i]):
        i += 1
    if i == 0:
        return [], raw
    if i < len(lines) and lines[i].startswith(b'Received: '):
        j = i + 1
        while j < len(lines) and lines[j][:1] in (b' ', b'\t'):
            j += 1
        if b'(smtp-sink)' in b'\n'.join(lines[i:j]):
            i = j
    body = lines[i:]
    if len(body) >= 2 and body[-1] == b'' and body[-2] == b'':
        body = body[:-1]                    # smtp-sink's added empty line
    return lines[:i], b'\n'.join(body)


def crlf(msg):
    """Bare LF line ends to CRLF."""
    return re.sub(rb'(?<!\r)\n', b'\r\n', msg)


def load(path):
    """The message in a file (sink envelope dropped), CRLF."""
    with open(path, 'rb') as f:
        return crlf(split_sink(f.read())[1])


def dkim_results(msg):
    """[(d, s, a, ok, why)] for every DKIM-Signature of msg."""
    n = sum(1 for h in dkim.DKIM(msg).headers if h[0].lower() == b'dkim-signature')
    out = []
    for i in range(n):
        d = dkim.DKIM(msg, minkey=1024)
        try:
            ok, why = d.verify(idx=i, dnsfunc=dnsfunc), ''
        except dkim.DKIMException as e:
            ok, why = False, str(e)
        f = d.signature_fields or {}
        tag = lambda k: (f.get(k) or b'?').decode(errors='replace')
        out.append((tag(b'd'), tag(b's'), tag(b'a'), bool(ok),
                    why or ('' if ok else 'signature did not verify')))
    return out


def cmd_dkim(a):
    res = dkim_results(load(a.file))
    for i, (d, s, alg, ok, why) in enumerate(res):
        print('dkim[%d] d=%s s=%s a=%s result=%s%s' %
              (i, d, s, alg, 'pass' if ok else 'fail', ' (%s)' % why if why else ''))
    if not res:
        print('dkim: no signature')
    good = True
    if a.count is not None and len(res) != a.count:
        print('expected %d signatures, found %d' % (a.count, len(res)))
        good = False
    if a.expect == 'pass':
        good &= bool(res) and all(r[3] for r in res)
        if a.domain:
            good &= any(r[3] and r[0].lower() == a.domain.lower() for r in res)
    elif a.expect == 'fail':
        good &= bool(res) and not any(r[3] for r in res)
    else:
        good &= not res
    return 0 if good else 1


def cmd_spf(a):
    result, expl = spf.check2(i=a.ip, s=a.mailfrom, h=a.helo, timeout=10, querytime=10)
    print('spf=%s (%s)' % (result, expl))
    return 0 if a.expect is None or a.expect.lower() == result.lower() else 1


def ar_results(msg, authserv_id=None):
    """[(authserv_id, result)] of every Authentication-Results header."""
    out = []
    for name, value in dkim.DKIM(msg).headers:
        if name.lower() != b'authentication-results':
            continue
        text = b' '.join(value.split()).decode()
        arh = authres.AuthenticationResultsHeader.parse('Authentication-Results: ' + text)
        if authserv_id and arh.authserv_id.lower() != authserv_id.lower():
            continue
        out.extend((arh.authserv_id, r) for r in arh.results)
    return out


def ar_line(r):
    """'dkim=pass header.d=x' for one authres result."""
    props = ' '.join('%s.%s=%s' % (p.type, p.name, p.value) for p in r.properties)
    return ('%s=%s %s' % (r.method, r.result, props)).strip()


def ar_match(r, want):
    """Does result r match 'method=result [type.name=value ...]'?"""
    words = want.split()
    m, _, res = words[0].partition('=')
    if r.method.lower() != m.lower() or str(r.result).lower() != res.lower():
        return False
    have = {('%s.%s' % (p.type, p.name)).lower(): str(p.value).lower() for p in r.properties}
    for w in words[1:]:
        k, _, v = w.partition('=')
        if have.get(k.lower()) != v.lower():
            return False
    return True


def cmd_authres(a):
    try:
        res = ar_results(load(a.file), a.authserv_id)
    except Exception as e:          # authres raises several types
        print('authres: does not parse: %s' % e)
        return 2
    for sid, r in res:
        print('%s: %s' % (sid, ar_line(r)))
    if not res:
        print('authres: no Authentication-Results header')
    missing = [w for w in a.expect or [] if not any(ar_match(r, w) for _, r in res)]
    for w in missing:
        print('expected, not found: %s' % w)
    return 1 if missing or (a.expect and not res) else 0


def cmd_sign(a):
    msg = load(a.file)
    with open(a.key, 'rb') as f:
        key = f.read()
    canon = tuple(c.encode() for c in a.canon.split('/'))
    hdrs = [h.strip().encode() for h in a.headers.split(',')] if a.headers else None
    alg = b'ed25519-sha256' if a.alg == 'ed25519' else b'rsa-sha256'
    sig = dkim.sign(msg, a.selector.encode(), a.domain.encode(), key,
                    canonicalize=canon, include_headers=hdrs, signature_algorithm=alg)
    sys.stdout.buffer.write(crlf(sig) + msg)
    return 0


def run(args, **kw):
    """Run a tool; its stdout (bytes), or exit 2 with its stderr."""
    r = subprocess.run(args, capture_output=True, **kw)
    if r.returncode != 0:
        sys.stderr.write('%s failed: %s\n' % (args[0], r.stderr.decode(errors='replace')))
        sys.exit(2)
    return r.stdout


def cmd_dkimkey(a):
    if a.type == 'ed25519':
        base = a.keyfile + '.tmp'
        run(['dknewkey', '--ktype', 'ed25519', base])
        os.rename(base + '.key', a.keyfile)
        with open(base + '.dns') as f:
            rec = f.read().strip()
        os.unlink(base + '.dns')
    else:
        run(['openssl', 'genpkey', '-algorithm', 'RSA', '-pkeyopt',
             'rsa_keygen_bits:%d' % (a.bits or 2048), '-out', a.keyfile])
        der = run(['openssl', 'pkey', '-in', a.keyfile, '-pubout', '-outform', 'DER'])
        rec = 'v=DKIM1; k=rsa; p=' + base64.b64encode(der).decode()
    parts = ' '.join('"%s"' % rec[i:i + 250] for i in range(0, len(rec), 250))
    print('%s._domainkey IN TXT %s' % (a.selector, parts))
    return 0


def cmd_sinkmsg(a):
    sys.stdout.buffer.write(load(a.file))
    return 0


def cmd_envelope(a):
    with open(a.file, 'rb') as f:
        env, _ = split_sink(f.read())
    for line in env:
        m = re.match(rb'X-(Mail|Rcpt)-Args: <([^>]*)>', line)
        if m:
            print('%s %s' % ('from' if m.group(1) == b'Mail' else 'rcpt', m.group(2).decode()))
    return 0


def parser():
    p = argparse.ArgumentParser(description='independent verifiers on the test nsd')
    p.add_argument('--dns-port', type=int, default=os.environ.get('MW_DNS_PORT'))
    sub = p.add_subparsers(dest='cmd', required=True)
    s = sub.add_parser('dkim')
    s.add_argument('file')
    s.add_argument('--expect', choices=['pass', 'fail', 'none'], default='pass')
    s.add_argument('--count', type=int)
    s.add_argument('--domain')
    s = sub.add_parser('spf')
    for n in ('ip', 'mailfrom', 'helo'):
        s.add_argument(n)
    s.add_argument('--expect')
    s = sub.add_parser('authres')
    s.add_argument('file')
    s.add_argument('--authserv-id')
    s.add_argument('--expect', action='append')
    s = sub.add_parser('sign')
    s.add_argument('file')
    for n in ('--domain', '--selector', '--key'):
        s.add_argument(n, required=True)
    s.add_argument('--alg', choices=['rsa', 'ed25519'], default='rsa')
    s.add_argument('--canon', default='relaxed/simple')
    s.add_argument('--headers')
    s = sub.add_parser('dkimkey')
    s.add_argument('type', choices=['rsa', 'ed25519'])
    s.add_argument('keyfile')
    s.add_argument('selector')
    s.add_argument('--bits', type=int)
    for n in ('sinkmsg', 'envelope'):
        sub.add_parser(n).add_argument('file')
    return p


def main():
    a = parser().parse_args()
    if a.cmd in ('dkim', 'spf', 'authres'):
        if not a.dns_port:
            print('verify.py: no DNS port (--dns-port or MW_DNS_PORT)', file=sys.stderr)
            return 2
        use_dns(a.dns_port)
    return globals()['cmd_' + a.cmd](a)


if __name__ == '__main__':
    sys.exit(main())
