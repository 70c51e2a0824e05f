#!/usr/bin/env python3
"""The library's folders depend only downward (docs/architecture.md):

    platform  <-  core/util  <-  core/store  <-  core/model  <-  core/flow  <-  sync

A file may include the private headers of its own folder and of the folders
below it, and call functions defined there; an include or a call that goes
up (util calling into store) or sideways out of this order fails the check.

Two checks, both needed: includes are read from the sources; calls are read
from the compiled objects with `nm` (an upward call through a forward
declaration written in place would slip past an include check).

  check_layers.py --src ROOT --objects LAYER=a.o,b.o ... [--nm NM]
  check_layers.py --self-test [--cc CC] [--nm NM]

Exits 1 listing every violation.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

# (layer name, folder relative to the source root), lowest first.
LAYERS = [
    ("platform", "platform"),
    ("util", "core/util"),
    ("store", "core/store"),
    ("model", "core/model"),
    ("flow", "core/flow"),
    ("sync", "sync"),
]
RANK = {name: i for i, (name, _) in enumerate(LAYERS)}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(path, root):
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root)).replace(os.sep, "/")
    best = None
    for name, folder in LAYERS:
        if rel == folder or rel.startswith(folder + "/"):
            if best is None or len(folder) > len(dict(LAYERS)[best]):
                best = name
    return best


def resolve(inc, including_file, root):
    """Where a quoted include lands: next to the file, or under core/ or sync/."""
    for base in (os.path.dirname(including_file), os.path.join(root, "core"),
                 os.path.join(root, "sync"), os.path.join(root, "include")):
        cand = os.path.normpath(os.path.join(base, inc))
        if os.path.exists(cand):
            return cand
    return None


def check_includes(root):
    problems = []
    for name, folder in LAYERS:
        top = os.path.join(root, folder)
        for dirpath, _, files in os.walk(top):
            for f in sorted(files):
                if not f.endswith((".c", ".h")):
                    continue
                path = os.path.join(dirpath, f)
                with open(path, encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
                mine = layer_of(path, root)
                for inc in INCLUDE.findall(text):
                    target = resolve(inc, path, root)
                    if target is None:
                        continue  # a generated or system header
                    theirs = layer_of(target, root)
                    if theirs is None:
                        if "/include/" in target.replace(os.sep, "/"):
                            continue  # the public API
                        problems.append(f"{path}: includes {inc}, which belongs to no layer")
                    elif RANK[theirs] > RANK[mine]:
                        problems.append(f"{path}: includes {inc} of {theirs} "
                                        f"from {mine} (upward)")
    return problems


def symbols(nm, obj):
    out = subprocess.run([nm, "-P", obj], check=True, capture_output=True, text=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        sym, kind = parts[0], parts[1]
        if not sym.startswith("fic"):
            continue
        if kind == "U":
            used.add(sym)
        elif kind.upper() in ("T", "D", "B", "R"):
            defined.add(sym)
    return defined, used


def check_calls(objects, nm):
    """objects: {layer: [object files]}."""
    where = {}
    uses = []
    for layer, objs in objects.items():
        for o in objs:
            d, u = symbols(nm, o)
            for s in d:
                where[s] = (layer, o)
            uses.append((layer, o, u))
    problems = []
    for layer, o, used in uses:
        for s in sorted(used):
            if s not in where:
                continue
            theirs, their_obj = where[s]
            if RANK[theirs] > RANK[layer]:
                problems.append(f"{os.path.basename(o)} ({layer}) calls {s} of "
                                f"{os.path.basename(their_obj)} ({theirs}): upward")
    return problems


def run(root, objects, nm):
    problems = check_includes(root) + check_calls(objects, nm)
    for p in problems:
        print("layering:", p)
    if not problems:
        n = sum(len(v) for v in objects.values())
        print(f"layers hold: {' <- '.join(name for name, _ in LAYERS)} "
              f"({n} objects, includes and calls)")
    return problems


def self_test(cc, nm):
    """A tiny tree with an upward include and an upward call must fail;
    the same tree without them must pass."""
    tmp = tempfile.mkdtemp()
    try:
        os.makedirs(os.path.join(tmp, "core/util"))
        os.makedirs(os.path.join(tmp, "core/store"))
        util_c = os.path.join(tmp, "core/util/u.c")
        store_c = os.path.join(tmp, "core/store/s.c")
        store_h = os.path.join(tmp, "core/store/s.h")
        with open(store_h, "w") as fh:
            fh.write("int fic__store_thing(void);\n")
        with open(store_c, "w") as fh:
            fh.write('#include "s.h"\nint fic__util_thing(void);\n'
                     "int fic__store_thing(void) { return fic__util_thing(); }\n")

        def build(util_src):
            with open(util_c, "w") as fh:
                fh.write(util_src)
            objs = {}
            for layer, src in (("util", util_c), ("store", store_c)):
                o = src[:-2] + ".o"
                subprocess.run([cc, "-c", "-o", o, src], check=True)
                objs[layer] = [o]
            return objs

        clean = build("int fic__util_thing(void) { return 1; }\n")
        ok_clean = not (check_includes(tmp) + check_calls(clean, nm))
        upward_call = build("int fic__store_thing(void);\n"
                            "int fic__util_thing(void) { return fic__store_thing(); }\n")
        ok_call = bool(check_calls(upward_call, nm))
        upward_include = build('#include "../store/s.h"\nint fic__util_thing(void) { return 1; }\n')
        ok_inc = bool(check_includes(tmp))
        ok = ok_clean and ok_call and ok_inc
        print(f"self-test: clean tree passes: {ok_clean}; an upward call fails: {ok_call}; "
              f"an upward include fails: {ok_inc}")
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src")
    ap.add_argument("--objects", action="append", default=[], metavar="LAYER=a.o,b.o")
    ap.add_argument("--nm", default=shutil.which("nm") or "nm")
    ap.add_argument("--cc", default=shutil.which("cc") or "cc")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        return self_test(a.cc, a.nm)
    objects = {}
    for spec in a.objects:
        layer, _, files = spec.partition("=")
        if layer not in RANK:
            print(f"unknown layer {layer}", file=sys.stderr)
            return 2
        objects[layer] = [f for f in re.split(r"[,;]", files) if f]
    return 1 if run(a.src, objects, a.nm) else 0


if __name__ == "__main__":
    sys.exit(main())
