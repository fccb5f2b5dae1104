#!/usr/bin/python3
"""journal.py - read mailwarden's archive journal in tests.

    journal.py entry DIR QID            the entry (DAY/BASE) whose record has
                                        queue_id QID; exactly one, else exit 1
    journal.py get DIR QID KEY [I]      a record field: strings raw (bytes
                                        restored with surrogateescape), lists
                                        one item a line, or item I
    journal.py hex DIR QID KEY [I]      the same, as hex of the original bytes
    journal.py check DIR QID            the record names its .eml, whose size
                                        and SHA-256 match; prints the .eml path
    journal.py count DIR                number of entries (.json records)

It is an independent reader: it parses the JSON with Python's json module
and hashes with hashlib, so it checks mailwarden's writer, not itself.
"""
import hashlib
import json
import os
import sys


def records(d):
    """Every (entry, record) of the journal in d."""
    out = []
    for day in sorted(os.listdir(d)):
        p = os.path.join(d, day)
        if len(day) != 10 or not os.path.isdir(p):
            continue
        for f in sorted(os.listdir(p)):
            if f.endswith(".json"):
                with open(os.path.join(p, f), "rb") as fp:
                    rec = json.loads(fp.read().decode("utf-8", "surrogatepass"))
                out.append((day + "/" + f[:-5], rec))
    return out


def find(d, qid):
    """The one record with this queue ID."""
    hits = [(e, r) for e, r in records(d) if r.get("queue_id") == qid]
    if len(hits) != 1:
        sys.exit("journal.py: %d entries with queue_id %s" % (len(hits), qid))
    return hits[0]


def raw(v):
    """A record string as the bytes mailwarden received."""
    return v.encode("utf-8", "surrogateescape")


def value(d, qid, key, idx):
    _, rec = find(d, qid)
    v = rec[key]
    if idx is not None:
        v = v[int(idx)]
    return v


def main(argv):
    cmd, d = argv[1], argv[2]
    if cmd == "count":
        print(len(records(d)))
    elif cmd == "entry":
        print(find(d, argv[3])[0])
    elif cmd in ("get", "hex"):
        v = value(d, argv[3], argv[4], argv[5] if len(argv) > 5 else None)
        items = v if isinstance(v, list) else [v]
        for it in items:
            if isinstance(it, str):
                b = raw(it)
                if cmd == "hex":
                    print(b.hex())
                else:
                    sys.stdout.buffer.write(b + b"\n")
            else:
                print(json.dumps(it))
    elif cmd == "check":
        entry, rec = find(d, argv[3])
        eml = os.path.join(d, os.path.dirname(entry), rec["message_file"])
        data = open(eml, "rb").read()
        if rec["message_file"] != os.path.basename(entry) + ".eml":
            sys.exit("journal.py: message_file %s is not the entry's" % rec["message_file"])
        if len(data) != rec["message_size"]:
            sys.exit("journal.py: size %d, record says %d" % (len(data), rec["message_size"]))
        if hashlib.sha256(data).hexdigest() != rec["message_sha256"]:
            sys.exit("journal.py: SHA-256 of %s differs from the record" % eml)
        if rec["entry"] != entry:
            sys.exit("journal.py: record names entry %s, file is %s" % (rec["entry"], entry))
        print(eml)
    else:
        sys.exit("journal.py: unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
