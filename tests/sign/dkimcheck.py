#!/usr/bin/python3
"""dkimcheck.py - mailwarden's signatures on a message: valid, and made by its rules.

usage: dkimcheck.py DNS_PORT FILE [--count N] [--domain D] [--algs A,B]
                    [--canon C] [--expire SECONDS] [--split PREFIX]

Validity comes from tests/lib/verify.py (dkimpy, each signature on its own,
keys from the test's nsd at 127.0.0.1:DNS_PORT; FILE may be a smtp-sink
file). On top of that every signature must follow mailwarden's rules: no
l= tag, From over-signed (named in h= more often than the message has From
headers), x= only with --expire and then t= + SECONDS; and, when given, the
number of signatures, their d=, their algorithms and c=.
--split writes PREFIX.N.eml for each signature N: the message with only
that one signature, for verifiers that report on the message as a whole.
Prints one line per signature; exits 0 only when all is as expected.
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import verify  # noqa: E402


def fields(msg):
    """The header fields of msg, each with its folding and line end."""
    head = re.split(rb'\r\n\r\n', msg, 1)[0] + b'\r\n'
    out = []
    for line in head.split(b'\r\n')[:-1]:
        if line[:1] in (b' ', b'\t') and out:
            out[-1] += line + b'\r\n'
        elif line:
            out.append(line + b'\r\n')
    return out


def tags(field):
    """The tags of a DKIM-Signature field, white space removed."""
    t = {}
    for part in field.split(b':', 1)[1].split(b';'):
        if b'=' in part:
            k, v = part.split(b'=', 1)
            t[k.strip().decode()] = re.sub(rb'\s+', b'', v).decode()
    return t


def split(msg, prefix):
    """One file per signature, the other signatures removed."""
    body = msg.split(b'\r\n\r\n', 1)[1] if b'\r\n\r\n' in msg else b''
    all_fields = fields(msg)
    sigs = [f for f in all_fields if f.lower().startswith(b'dkim-signature:')]
    for n, keep in enumerate(sigs):
        kept = [f for f in all_fields if f is keep or f not in sigs]
        with open('%s.%d.eml' % (prefix, n), 'wb') as out:
            out.write(b''.join(kept) + b'\r\n' + body)


def rules(t, i, nfrom, a):
    """Problems of signature i with mailwarden's signing rules."""
    p = []
    hlist = [h.lower() for h in t.get('h', '').split(':')]
    if 'l' in t:
        p.append('signature %d has l=' % i)
    if hlist.count('from') <= nfrom:
        p.append('signature %d does not over-sign From' % i)
    if a.domain and t.get('d') != a.domain:
        p.append('signature %d: d=%s, expected %s' % (i, t.get('d'), a.domain))
    if a.canon and t.get('c') != a.canon:
        p.append('signature %d: c=%s, expected %s' % (i, t.get('c'), a.canon))
    if a.expire is None and 'x' in t:
        p.append('signature %d has x=' % i)
    if a.expire is not None and ('x' not in t or int(t['x']) - int(t['t']) != a.expire):
        p.append('signature %d: x= is not t= + %d' % (i, a.expire))
    return p


def check(a):
    verify.use_dns(a.port)
    msg = verify.load(a.file)
    hdrs = fields(msg)
    sigs = [tags(f) for f in hdrs if f.lower().startswith(b'dkim-signature:')]
    nfrom = sum(1 for f in hdrs if f.lower().startswith(b'from:'))
    results = verify.dkim_results(msg)
    problems = []
    if a.count is not None and len(sigs) != a.count:
        problems.append('%d signatures, expected %d' % (len(sigs), a.count))
    for i, (t, (d, s, alg, ok, why)) in enumerate(zip(sigs, results)):
        print('%s sig %d: d=%s s=%s a=%s c=%s %s' % (
            a.file, i, d, s, alg, t.get('c'), 'pass' if ok else 'FAIL (%s)' % why))
        if not ok:
            problems.append('signature %d does not verify' % i)
        problems += rules(t, i, nfrom, a)
    if a.algs is not None and sorted(t.get('a') for t in sigs) != sorted(a.algs.split(',')):
        problems.append('algorithms %s, expected %s' % (sorted(t.get('a') for t in sigs), a.algs))
    if a.split:
        split(msg, a.split)
    for p in problems:
        print('%s: %s' % (a.file, p))
    return 1 if problems else 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument('port', type=int)
    p.add_argument('file')
    p.add_argument('--count', type=int)
    p.add_argument('--domain')
    p.add_argument('--algs')
    p.add_argument('--canon')
    p.add_argument('--expire', type=int)
    p.add_argument('--split')
    sys.exit(check(p.parse_args()))


if __name__ == '__main__':
    main()
