"""Extracts the runnable snippets of one README section for tests/agents/run.sh.

Usage: python readme_snippets.py README SECTION OUT_DIR BASE_URL KEY HOME

Reads the `## SECTION` part of README and writes each fenced block it can run
into OUT_DIR, with the README's gateway origin (http://127.0.0.1:8045) replaced
by BASE_URL and the placeholder key `sk-anything` by KEY:

- ```sh, ```python, ```js blocks become NN-LANG.sh/.py/.mjs, to be run;
- a ```toml (or any) block right after a line `<!-- agents-test: write PATH -->`
  becomes a file to be written at PATH (`~` is HOME) before anything runs.
  Blocks after `<!-- agents-test: skip -->` are left out (editor settings
  that cannot run here).

OUT_DIR/index.tsv lists them in README order: `write<TAB>file<TAB>PATH` or
`LANG<TAB>file<TAB>-`. Fails when the section is missing or has no snippet.
"""

import pathlib
import re
import sys

README, SECTION, OUT, BASE_URL, KEY, HOME = sys.argv[1:7]
ORIGIN = "http://127.0.0.1:8045"
EXTENSIONS = {"sh": "sh", "python": "py", "js": "mjs"}

text = pathlib.Path(README).read_text()
match = re.search(rf"^## {re.escape(SECTION)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
if not match:
    sys.exit(f"README has no `## {SECTION}` section")
out = pathlib.Path(OUT)
out.mkdir(parents=True, exist_ok=True)
index = []
directive = None
lines = match.group(1).split("\n")
i = 0
while i < len(lines):
    line = lines[i]
    marker = re.match(r"<!-- agents-test: (write (\S+)|skip) -->", line.strip())
    if marker:
        directive = marker.group(1)
        i += 1
        continue
    fence = re.match(r"```(\w*)\s*$", line)
    if not fence:
        i += 1
        continue
    lang = fence.group(1)
    body = []
    i += 1
    while i < len(lines) and not lines[i].startswith("```"):
        body.append(lines[i])
        i += 1
    i += 1
    code = "\n".join(body).replace(ORIGIN, BASE_URL).replace("sk-anything", KEY) + "\n"
    n = len(index) + 1
    if directive and directive.startswith("write "):
        target = directive.split(" ", 1)[1].replace("~", HOME, 1)
        path = out / f"{n:02d}-file.{lang or 'txt'}"
        path.write_text(code)
        index.append(f"write\t{path}\t{target}")
    elif directive != "skip" and lang in EXTENSIONS:
        path = out / f"{n:02d}-{lang}.{EXTENSIONS[lang]}"
        path.write_text(code)
        index.append(f"{lang}\t{path}\t-")
    directive = None
if not any(not entry.startswith("write") for entry in index):
    sys.exit(f"`## {SECTION}` has no runnable snippet")
(out / "index.tsv").write_text("\n".join(index) + "\n")
