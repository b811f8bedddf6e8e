"""Downloads the sdist of NAME==VERSION into DEST through the package index's JSON simple
API (PEP 691), verifying its sha256. Used for pins that publish no wheel.

usage: fetch_sdist.py NAME==VERSION DEST
"""
import hashlib
import json
import os
import re
import sys
import urllib.request

pin, dest = sys.argv[1], sys.argv[2]
name, version = pin.split("==", 1)


def normalise(text):
    return re.sub(r"[-_.]+", "-", text).lower()


index = os.environ.get("UNTHREAD_INDEX_URL", "https://pypi.org/simple").rstrip("/")
request = urllib.request.Request(
    f"{index}/{normalise(name)}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
)
with urllib.request.urlopen(request, timeout=60) as response:
    files = json.load(response)["files"]
wanted = f"{normalise(name)}-{normalise(version)}"
for entry in files:
    stem = re.sub(r"\.(tar\.gz|zip)$", "", entry["filename"])
    if stem != entry["filename"] and normalise(stem) == wanted:
        break
else:
    sys.exit(f"{pin}: no sdist on the index")
with urllib.request.urlopen(entry["url"], timeout=120) as response:
    data = response.read()
if hashlib.sha256(data).hexdigest() != entry["hashes"]["sha256"]:
    sys.exit(f"{pin}: checksum mismatch")
os.makedirs(dest, exist_ok=True)
with open(os.path.join(dest, entry["filename"]), "wb") as out:
    out.write(data)
