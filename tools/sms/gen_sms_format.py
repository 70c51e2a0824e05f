#!/usr/bin/env python3
"""Make the data of an SMS format version (docs/protocol.md, "SMS fallback")
from the checklist definitions: the zlib preset dictionary and the codebook.

  gen_sms_format.py VERSION OUTDIR     write OUTDIR/dict-vN.txt, OUTDIR/codebook-vN.json

A format version's data is frozen once shipped: a phone and a county server
of different releases must agree on it byte for byte, and the library pins
both files' SHA-256 (sync/sms.c). This script is how version 1 was made and
how a version 2 would be; it is not run by the build. A checklist changed
later does not change version 1.

The dictionary holds the checklists' own Chinese vocabulary: every label,
title, choice and finding text, split into phrases at punctuation, each
phrase once (one contained in a longer phrase is dropped), ordered so that
the phrases of the two-hour event forms sit at the end (zlib reaches the
end of a dictionary with the shortest distances) and, within each group, the
most frequent last; then the checklists' full-width punctuation marks. Field names (item ids) are left out: the SMS layout is
binary and never spells them.

The codebook says, for each lead category an SMS can carry, which of its
form's items travel and how (in the form's order, which the layout's
presence bits follow), and which text items are the place and the
description. Items marked "sensitive" (an informant's name or phone, the
diners' contact phone) are never in it: an SMS carries only what the county
needs to act within two hours.
"""
import collections
import glob
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPLIT = re.compile(r'[（）()、，,。；;：:/\s“”"？?！!《》〔〕\[\]]+')
HAN = re.compile(r'[\u4e00-\u9fff]')

# The categories of version 1, in code order (code = position + 1; 0 is an
# escape that spells the category). The two-hour event forms first.
EVENT_FORMS = [
    "event.foodborne", "event.water_poisoning", "event.school_cluster",
    "event.blood_beyond_scope", "event.two_non", "event.assisted_reproduction",
    "event.occupational_emergency",
]
# Which text items are the place and the description (the first answered
# of the list); other text items stay for the data upload.
TEXTS = {
    "event.foodborne": (["meal_place"], ["symptoms_detail", "suspected_food"]),
    "event.water_poisoning": (["place"], ["description"]),
    "event.school_cluster": (["unit_name"], ["description"]),
    "event.blood_beyond_scope": (["place"], ["description", "activity"]),
    "event.two_non": (["place"], ["description"]),
    "event.assisted_reproduction": (["place"], ["description"]),
    "event.occupational_emergency": (["place"], ["description"]),
}
PLACE_CHARS = 24       # characters of the place kept
DESCRIPTION_CHARS = 70 # characters of the description kept


def load(name):
    with open(os.path.join(ROOT, "schema", "checklists", name + ".json"), encoding="utf-8") as fh:
        return json.load(fh)


def zh_texts(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "zh" and isinstance(v, str):
                out[v] += 1
            elif k not in ("sections", "source", "$schema"):
                zh_texts(v, out)
    elif isinstance(node, list):
        for v in node:
            zh_texts(v, out)


def phrases(paths):
    texts = collections.Counter()
    for p in paths:
        with open(p, encoding="utf-8") as fh:
            zh_texts(json.load(fh), texts)
    out = collections.Counter()
    for t, n in texts.items():
        for ph in SPLIT.split(t):
            if len(ph) >= 2 and HAN.search(ph):
                out[ph] += n
    return out


def ordered(group, everything):
    """The group's phrases, none inside another, rarest first."""
    kept = []
    for ph in sorted(group, key=lambda s: (-len(s), s)):
        if not any(ph in k for k in kept):
            kept.append(ph)
    weight = {ph: sum(n for q, n in everything.items() if q in ph) for ph in kept}
    kept.sort(key=lambda s: (weight[s], s))
    return kept


def punctuation(paths):
    """The full-width punctuation of the checklists' texts, rarest first."""
    texts = collections.Counter()
    for p in paths:
        with open(p, encoding="utf-8") as fh:
            zh_texts(json.load(fh), texts)
    marks = collections.Counter()
    for t, n in texts.items():
        for ch in t:
            if "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef" or ch in "“”":
                marks[ch] += n
    return "".join(sorted(marks, key=lambda c: (marks[c], c)))


def dictionary():
    all_paths = sorted(glob.glob(os.path.join(ROOT, "schema", "checklists", "*.json")))
    event_paths = [p for p in all_paths if os.path.basename(p)[:-5] in EVENT_FORMS]
    everything = phrases(all_paths)
    events = ordered(phrases(event_paths), everything)
    others = [ph for ph in ordered(everything, everything) if not any(ph in e for e in events)]
    # Punctuation last: one mark is three bytes of UTF-8, and the nearest
    # copy makes the cheapest match.
    return "".join(others + events) + punctuation(all_paths)


def codebook(version):
    cats = []
    for form_id in EVENT_FORMS:
        d = load(form_id)
        place, desc = TEXTS[form_id]
        items = []
        for it in d["items"]:
            if it.get("sensitive") or it["type"] == "text" or it["type"] == "number":
                continue
            e = {"id": it["id"], "type": it["type"]}
            if it["type"] in ("choice", "multi"):
                e["choices"] = [c["id"] for c in it["choices"]]
            if it["type"] == "yes_no":
                e["choices"] = ["no", "yes", "na"]
            items.append(e)
        cats.append({"category": d["lead"]["category"], "form": form_id,
                     "title_zh": d["title"]["zh"], "items": items,
                     "place": place, "description": desc})
    # Urgent patrol findings: the finding's own words are the description.
    cats.append({"category": "patrol_finding", "title_zh": "巡查发现紧急问题", "items": [],
                 "place": [], "description": ["finding_zh"]})
    return {
        "format": version,
        "comment": "made by tools/sms/gen_sms_format.py from schema/checklists; frozen once shipped",
        "place_chars": PLACE_CHARS,
        "description_chars": DESCRIPTION_CHARS,
        "categories": cats,
    }


def main(argv):
    if len(argv) != 3 or not argv[1].isdigit():
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    v, outdir = int(argv[1]), argv[2]
    with open(os.path.join(outdir, "dict-v%d.txt" % v), "w", encoding="utf-8", newline="") as fh:
        fh.write(dictionary())
    with open(os.path.join(outdir, "codebook-v%d.json" % v), "w", encoding="utf-8") as fh:
        json.dump(codebook(v), fh, ensure_ascii=False, indent=1)
        fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
