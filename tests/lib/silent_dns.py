#!/usr/bin/python3
"""silent_dns.py - a DNS server that hears every query and answers none.

usage: /usr/bin/python3 tests/lib/silent_dns.py PORT LOGFILE

Listens on 127.0.0.1:PORT, UDP and TCP. Each query received appends one
line "udp|tcp NAME" to LOGFILE (flushed at once), so a test can wait until
a resolver is stuck on it; no answer is ever sent, TCP connections are
held open. Started by mw_dns_silent_start (tests/lib/common.sh).
"""
import selectors
import socket
import sys


def qname(msg):
    """The question name of a DNS message, or '?'."""
    labels, i = [], 12
    try:
        while msg[i]:
            n = msg[i]
            labels.append(msg[i + 1:i + 1 + n].decode('ascii', 'replace'))
            i += 1 + n
    except IndexError:
        return '?'
    return '.'.join(labels) or '.'


def main():
    port, log = int(sys.argv[1]), open(sys.argv[2], 'a', buffering=1)
    sel = selectors.DefaultSelector()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(('127.0.0.1', port))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(('127.0.0.1', port))
    tcp.listen(64)
    sel.register(udp, selectors.EVENT_READ, 'udp')
    sel.register(tcp, selectors.EVENT_READ, 'accept')
    held = []
    while True:
        for key, _ in sel.select():
            if key.data == 'udp':
                log.write('udp %s\n' % qname(udp.recv(65535)))
            elif key.data == 'accept':
                conn, _ = tcp.accept()
                held.append(conn)
                sel.register(conn, selectors.EVENT_READ, 'tcp')
            else:
                data = key.fileobj.recv(65535)
                if data:
                    log.write('tcp %s\n' % qname(data[2:]))
                else:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()


if __name__ == '__main__':
    main()
