"""Derive src/sekisho/guardrails/data/en_names.txt.gz from the 1990 US Census name lists shipped in
PyPI package `names` 0.3.0 (MIT; data: US Census Bureau, public domain) and flag names that are also
common lower-case English words in Debian's `wamerican` (SCOWL, permissive licence)."""

import gzip
import sys

src = "/tmp/dl/names-0.3.0/names/"
words = {w.strip() for w in open("/usr/share/dict/words") if w.strip().isalpha() and w.strip().islower()}
first = {}
for fn in ("dist.female.first", "dist.male.first"):
    for rank, line in enumerate(open(src + fn), 1):
        n = line.split()[0].lower()
        first[n] = min(first.get(n, 10**9), rank)
last = {}
for rank, line in enumerate(open(src + "dist.all.last"), 1):
    n = line.split()[0].lower()
    if len(n) >= 2:
        last[n] = rank
# International given names absent from the US census lists (written for Sekisho from general
# knowledge; not taken from any generator's lists).
extra_first = sys.argv[1].split() if len(sys.argv) > 1 else []
for n in extra_first:
    first.setdefault(n.lower(), 5000)
out = []
for n, r in sorted(first.items()):
    amb = n in words and r > 150  # a very common given name is a name even if it is also a word
    out.append(f"f{'?' if amb else ''}\t{n}")
for n, r in sorted(last.items()):
    amb = n in words and r > 2000
    out.append(f"l{'?' if amb else ''}\t{n}")
data = "\n".join(out) + "\n"
with gzip.open(
    sys.argv[2] if len(sys.argv) > 2 else "/tmp/build/en_names.txt.gz",
    "wt",
    encoding="utf-8",
    compresslevel=9,
) as f:
    f.write(data)
print(len(first), len(last), sum(1 for l in out if "?" in l))
