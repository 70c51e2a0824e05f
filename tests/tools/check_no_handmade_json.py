#!/usr/bin/env python3
"""Every JSON document the library writes is built with cJSON (or SQLite's
json_object): none is assembled by formatting text, where a quote or a
backslash in a value (a county's site id, say) would make it unreadable.

Scans the C sources given (directories are walked) for a string literal that
holds a JSON key ("\\"name\\":") together with a printf conversion, or is the
format of a printf-family call. Exits 1 and lists each one found.

  check_no_handmade_json.py DIR_OR_FILE...        scan
  check_no_handmade_json.py --self-test           show it catches what it should
"""
import os
import re
import sys

LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
JSON_KEY = re.compile(r'\\"[A-Za-z_][A-Za-z0-9_]*\\"\s*:')
PRINTF = re.compile(r'\b(?:s?n?printf|v?snprintf|fic__sb_printf|fprintf|asprintf)\s*\(')


def offences(text):
    found = []
    for no, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip()
        if stripped.startswith(("*", "/*", "//")):
            continue
        for m in LITERAL.finditer(line):
            lit = m.group(1)
            if not JSON_KEY.search(lit) and not lit.startswith("{\\\""):
                continue
            if "%" in lit or PRINTF.search(line[: m.start()]):
                found.append((no, line.strip()))
                break
    return found


def sources(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, files in os.walk(p):
                for f in sorted(files):
                    if f.endswith((".c", ".h")):
                        yield os.path.join(root, f)
        else:
            yield p


def self_test():
    bad = [
        'snprintf(d, sizeof d, "{\\"id\\":\\"%s\\"}", id);',
        'fic__sb_printf(&sb, "\\"name\\": %d", n);',
        'printf("{\\"a\\":1}\\n");',
    ]
    good = [
        'cJSON_AddStringToObject(d, "id", id);',
        'return fic__err(FIC_EPROTO, "server answer has no \\"results\\" array");',
        'sqlite3_bind_text(st, 4, "{\\"kind\\":\\"malformed\\"}", -1, SQLITE_STATIC);',
        '/* snprintf(d, n, "{\\"x\\":%d}") in a comment */',
    ]
    ok = all(offences(b) for b in bad) and not any(offences(g) for g in good)
    print("self-test", "passed" if ok else "FAILED")
    return 0 if ok else 1


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    total = 0
    for path in sources(argv[1:]):
        with open(path, encoding="utf-8", errors="replace") as fh:
            for no, line in offences(fh.read()):
                print(f"{path}:{no}: JSON assembled by hand (build it with cJSON): {line}")
                total += 1
    if total:
        return 1
    print("no JSON assembled by hand")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
