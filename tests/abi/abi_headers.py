#!/usr/bin/env python3
"""tests/abi/abi_headers.py — write copies of the public headers as an app
built against another version of the library would have them, so the ABI
test can build one consumer against each and run it against today's library:

  future  every versioned struct (and every list entry) has one member more at
          the end, and its FIC_*_VERSION is one higher: an app built against
          the next release, run on this library;
  old     the members a struct gained after its first version (marked
          "(version N)" in their comment) are gone and its version is the one
          before the earliest of them (1 for most; 3 for the transport table,
          whose versions 1 and 2 are refused): an app built against the
          release before they were appended, run on this library.

Usage: abi_headers.py SRC_INCLUDE_DIR OUT_DIR {future|old}
"""
import os
import re
import sys

# struct name -> its version macro (None: a list entry, which has no version)
VERSIONED = {
    "fic_store_options": "FIC_STORE_OPTIONS_VERSION",
    "fic_store_stats": "FIC_STORE_STATS_VERSION",
    "fic_site": "FIC_SITE_VERSION",
    "fic_photo_options": "FIC_PHOTO_OPTIONS_VERSION",
    "fic_photo": "FIC_PHOTO_VERSION",
    "fic_time": "FIC_TIME_VERSION",
    "fic_sync_options": "FIC_SYNC_OPTIONS_VERSION",
    "fic_sync_report": "FIC_SYNC_REPORT_VERSION",
    "fic_sync_progress": "FIC_SYNC_PROGRESS_VERSION",
    "fic_curl_options": "FIC_CURL_OPTIONS_VERSION",
    "fic_transport": "FIC_TRANSPORT_VERSION",  # a function table the app fills
    "fic_lead_info": None,
    "fic_checklist_info": None,
    "fic_audit_entry": None,
    "fic_sync_rejection": None,
}

FUTURE_MEMBER = "\tint64_t abi_future_member; /* appended by the next release (ABI test) */\n"


def struct_span(text, name):
    m = re.search(r"typedef struct %s \{\n(.*?)\n\} %s;" % (name, name), text, re.S)
    return m


def bump(text, macro, delta):
    def rep(m):
        return "#define %s %d" % (macro, int(m.group(1)) + delta)
    new, n = re.subn(r"#define %s (\d+)" % macro, rep, text)
    assert n == 1, macro
    return new


def drop_init_items(text, struct, k):
    """Remove the last k items of the struct's _INIT macro, if it has one."""
    macro = struct.upper() + "_INIT"
    m = re.search(r"#define %s \{(.*?)\}" % macro, text, re.S)
    if not m:
        return text
    items = m.group(1).rsplit(",", k)[0]
    return text[:m.start(1)] + items + " " + text[m.end(1):]


def transform(text, mode, changed):
    for name, macro in VERSIONED.items():
        m = struct_span(text, name)
        if not m:
            continue
        body = m.group(1)
        if mode == "future":
            body = body + "\n" + FUTURE_MEMBER.rstrip("\n")
            text = text[:m.start(1)] + body + text[m.end(1):]
            if macro:
                text = bump(text, macro, +1)
            changed.append(name)
        else:
            lines = body.split("\n")
            marks = [int(v) for l in lines for v in re.findall(r"\(version ([2-9]\d*)\)", l)]
            keep = [l for l in lines if not re.search(r"\(version [2-9]\d*\)", l)]
            removed = len(lines) - len(keep)
            if removed == 0:
                continue
            text = text[:m.start(1)] + "\n".join(keep) + text[m.end(1):]
            # back to the version before the first of them
            text = re.sub(r"#define %s \d+" % macro, "#define %s %d" % (macro, min(marks) - 1), text)
            text = drop_init_items(text, name, removed)
            changed.append(name)
    return text


def main():
    src, out, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    assert mode in ("future", "old")
    changed = []
    for root, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".h"):
                continue
            path = os.path.join(root, f)
            rel = os.path.relpath(path, src)
            with open(path, encoding="utf-8") as fp:
                text = fp.read()
            text = transform(text, mode, changed)
            dest = os.path.join(out, rel)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            tmp = dest + ".tmp"
            with open(tmp, "w", encoding="utf-8") as fp:
                fp.write(text)
            os.replace(tmp, dest)
    if mode == "future":
        missing = set(VERSIONED) - set(changed)
        assert not missing, "structs not found: %s" % sorted(missing)
    else:
        assert changed, "no struct has members of a later version: nothing to test"
    print("%s headers: %s" % (mode, ", ".join(sorted(changed))))


if __name__ == "__main__":
    main()
