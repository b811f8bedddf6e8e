#!/usr/bin/env python3
"""Figures for the third hardening round, against a running demo on loopback started with a
webhook secret (`unthread serve --demo --dev-login --workers 0 --github-webhook-secret S`):
page latency (p50/p99 of 50 loads of / and /findings) at rest, while 512 live-update streams
are open (64 from each of 8 loopback addresses, the per-client cap), and during a burst of
200 signed pushes to one tracked repository (and how many scan jobs they leave waiting).

usage: python3 scripts/pressure.py http://127.0.0.1:3000 SECRET
"""

import hashlib
import hmac
import http.client
import json
import resource
import socket
import sys
import threading
import time
import urllib.parse

BASE, SECRET = sys.argv[1], sys.argv[2].encode()
URL = urllib.parse.urlsplit(BASE)
if URL.hostname not in ("127.0.0.1", "localhost"):
    sys.exit("loopback only")
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))


def get(path):
    c = http.client.HTTPConnection(URL.hostname, URL.port, timeout=60)
    started = time.monotonic()
    c.request("GET", path)
    r = c.getresponse()
    r.read()
    c.close()
    return r.status, time.monotonic() - started


def pages(label):
    times = []
    for _ in range(25):
        for path in ("/", "/findings"):
            status, took = get(path)
            assert status == 200, (path, status)
            times.append(took * 1000)
    times.sort()
    print(f"{label:44} p50 {times[len(times) // 2]:7.1f} ms   p99 {times[int(len(times) * 0.99) - 1]:7.1f} ms")


pages("pages at rest")

streams = []
for source in range(2, 10):
    for _ in range(64):
        s = socket.socket()
        s.bind((f"127.0.0.{source}", 0))
        s.connect((URL.hostname, URL.port))
        s.sendall(b"GET /api/live HTTP/1.1\r\nhost: x\r\n\r\n")
        streams.append(s)
ok = sum(1 for s in streams if s.recv(12).startswith(b"HTTP/1.1 200"))
print(f"live streams open: {ok} of {len(streams)}")
pages("pages with 512 live streams open")
for s in streams:
    s.close()


def push(i, before, after):
    payload = {
        "ref": "refs/heads/master",
        "before": before,
        "after": after,
        "deleted": False,
        "repository": {"full_name": "openedx/edx-ace", "default_branch": "master"},
    }
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    c = http.client.HTTPConnection(URL.hostname, URL.port, timeout=60)
    c.request("POST", "/webhooks/github", body, {
        "content-type": "application/json", "x-github-event": "push",
        "x-github-delivery": f"pressure-{time.time_ns()}-{i}", "x-hub-signature-256": signature,
    })
    r = c.getresponse()
    r.read()
    return r.status


shas = [f"{i:040x}" for i in range(1, 201)]
statuses = []
burst = threading.Thread(target=lambda: statuses.extend(push(i, "0" * 40 if i == 0 else shas[i - 1], sha) for i, sha in enumerate(shas)))
started = time.monotonic()
burst.start()
pages("pages during a burst of 200 signed pushes")
burst.join()
print(f"200 pushes in {time.monotonic() - started:.1f} s: {statuses.count(200)} answered 200")
