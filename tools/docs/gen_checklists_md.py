#!/usr/bin/env python3
"""Generate docs/checklists.md from schema/checklists/*.json.

The checklist files are the source of truth; this renders them as one table
per service area (section, item, answer type, abnormal when, photo required)
plus the event forms and their reporting rules. CI regenerates the file and
fails if the committed copy differs (scripts/test.sh).

Usage: gen_checklists_md.py [--check]   (--check: exit 1 if docs/ is stale)
"""
import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AREAS = [
    ("foodborne", "食源性疾病 Foodborne disease"),
    ("drinking_water", "饮用水 Drinking water"),
    ("school", "学校卫生 School health"),
    ("medical_blood", "非法行医和非法采供血 Illegal medical practice and blood collection"),
    ("mch", "妇幼健康 Maternal and child health"),
    ("occupational", "职业卫生 Occupational health"),
    ("general", "通用 All areas"),
]


def lit(v):
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, list):
        return "[" + ", ".join(lit(x) for x in v) + "]"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def expr(e):
    """Render a rule expression as compact infix text."""
    if not isinstance(e, dict):
        return lit(e)
    (op, a), = e.items()
    args = a if isinstance(a, list) else [a]
    if op == "var":
        name = args[0]
        if name == "answer":
            return "answer"
        if name == "inspection.date":
            return "inspection date"
        return name.replace("item.", "")
    if op in ("==", "!=", "<", "<=", ">", ">="):
        sym = {"==": "=", "!=": "≠", "<=": "≤", ">=": "≥"}.get(op, op)
        return (" %s " % sym).join(expr(x) for x in args)
    if op == "!":
        inner = args[0]
        if isinstance(inner, dict) and "<=" in inner and len(inner["<="]) == 3:
            lo, x, hi = inner["<="]
            return "%s outside %s–%s" % (expr(x), expr(lo), expr(hi))
        return "not (%s)" % expr(inner)
    if op in ("and", "or"):
        return "(" + (" %s " % op).join(expr(x) for x in args) + ")"
    if op == "in":
        return "%s in %s" % (expr(args[0]), expr(args[1]))
    if op == "if":
        parts = []
        for i in range(0, len(args) - 1, 2):
            parts.append("if %s: %s" % (expr(args[i]), expr(args[i + 1])))
        parts.append("else %s" % expr(args[-1]))
        return "; ".join(parts)
    if op in ("+", "-", "*"):
        return "(" + (" %s " % op).join(expr(x) for x in args) + ")"
    if op in ("add_years", "add_months"):
        unit = "years" if op == "add_years" else "months"
        return "%s + %s %s" % (expr(args[0]), expr(args[1]), unit)
    return "%s(%s)" % (op, ", ".join(expr(x) for x in args))


def abnormal_text(item):
    ab = item.get("abnormal")
    if ab is None:
        return "—"
    if ab == {"==": [{"var": "answer"}, "no"]}:
        return "no"
    if ab == {"==": [{"var": "answer"}, "yes"]}:
        return "yes"
    return expr(ab).replace("|", "\\|")


def type_text(item):
    t = item["type"]
    if t == "number":
        r = item.get("range")
        u = item.get("unit", "")
        return "number %s–%s %s" % (lit(r[0]), lit(r[1]), u) if r else "number"
    if t in ("choice", "multi"):
        return "%s: %s" % (t, ", ".join(c["id"] for c in item["choices"]))
    if t == "yes_no" and item.get("na_allowed"):
        return "yes/no/na"
    return t.replace("_", "/")


def cell(s):
    return s.replace("|", "\\|").replace("\n", " ")


def render():
    defs = []
    for path in sorted(glob.glob(os.path.join(ROOT, "schema", "checklists", "*.json"))):
        with open(path, encoding="utf-8") as f:
            defs.append(json.load(f))
    out = []
    out.append("# Built-in checklists and event forms\n")
    out.append("Generated from `schema/checklists/*.json` by `tools/docs/gen_checklists_md.py`; "
               "do not edit by hand (CI fails when this file is stale). The definitions follow "
               "渝卫发〔2022〕8号 附件 (the Chongqing co-inspection guide); the format and the rule "
               "language are in [checklist-format.md](checklist-format.md).\n")
    out.append("An answer marked *sealed (personal)* identifies a person (an informant, a diner): "
               "it is sealed to the county's public key when the lead is submitted, and the phone "
               "keeps only ciphertext of it from then on (docs/security.md, \"The phone\").\n")
    out.append("Abnormal-when reads the item's rule: `no`/`yes` is the answer that is abnormal; "
               "`answer outside a–b` means outside the inclusive range; dates compare with the "
               "inspection date. A finding marked 2 h is subject to a two-hour reporting rule and "
               "becomes its own urgent lead; one marked at once is reported immediately (立即报告: "
               "its own lead, sent before every other, overdue from the moment it is found — "
               "非法行医 3.4.1); one marked re-inspect ≤ 1 month is time-sensitive (a street "
               "\"doctor\" stall may move on): its lead opens a re-inspection task due one "
               "calendar month after it was found (非法行医 3.4.1), which the re-inspection "
               "closes; one marked scanned code checks it asks whether the site's facts match "
               "its licence — a visit started by scanning a code that carries other facts "
               "than the registry's answers it no (visit.h).\n")
    out.append("## How findings become leads\n")
    out.append("Finishing an inspection files its findings with the enforcement agency "
               "(服务方法 2(1)): every finding subject to a two-hour rule becomes its own urgent "
               "lead with a deadline two hours after it was found, so each has its own clock and "
               "is sent first; a finding the guide says to report immediately (the same violation "
               "found again on the re-inspection of a time-sensitive lead, 非法行医 3.4.1) becomes "
               "its own lead with no grace at all, sent before the two-hour ones; all other findings of the inspection together make one lead, which "
               "is how the agency handles a visit. Site findings (closed, facts changed) file a "
               "site-status lead, which goes only with its proof photo (拍摄证明照片, 实施方案 "
               "服务方法 1(3), 各专业 三(二)2): a site found closed has no item left to check, "
               "and its inspection finishes once that photo is taken; a site-status form is "
               "filed as a draft, the photo attached, then submitted. Event forms each file one lead; it is urgent when the form's "
               "rule says so (for the school cluster: computed from the daily case counts).\n")
    for area, title in AREAS:
        ds = [d for d in defs if d["area"] == area]
        if not ds:
            continue
        out.append("## %s\n" % title)
        for d in ds:
            out.append("### %s — %s (`%s` v%d, %s)\n" % (d["title"]["zh"], d["title"]["en"], d["id"],
                                                       d["version"], d["kind"]))
            out.append("Source: %s. " % d["source"])
            if d.get("site_kinds"):
                out.append("Sites: %s.\n" % ", ".join(d["site_kinds"]))
            else:
                out.append("\n")
            lead = d.get("lead")
            if lead:
                urgent = "urgent (2 h)" if lead.get("urgent") else (
                    "urgent when " + expr(lead["urgent_when"]) if lead.get("urgent_when") else "not urgent")
                ts = ""
                if lead.get("time_sensitive") or lead.get("time_sensitive_when"):
                    ts = "; re-inspection within 1 month when %s" % (
                        expr(lead["time_sensitive_when"]) if lead.get("time_sensitive_when") else "filed")
                out.append("Lead: category `%s`, report to %s, %s%s (%s).\n" % (
                    lead["category"], lead["report_to"].replace("_", " "), cell(urgent), cell(ts),
                    ", ".join(lead["sections"])))
                if lead.get("routes"):
                    r = lead["routes"]
                    out.append("Routed by `%s`: a report of these kinds falls under a reporting rule "
                               "and is filed on that form's two-hour clock, from when it was received, "
                               "with its category and recipient — %s.\n" % (
                                   r["item"], "; ".join("`%s` → `%s`" % (k, v)
                                                        for k, v in r["forms"].items())))
            out.append("| section | item | question | answer | abnormal when | photo |")
            out.append("|---|---|---|---|---|---|")
            for it in d["items"]:
                applies = " (when %s)" % expr(it["applies"]) if it.get("applies") else ""
                photo = "yes" if it.get("photo_when_abnormal") else ""
                if it.get("urgent_when_abnormal"):
                    photo = (photo + " · 2 h").strip(" ·")
                if it.get("immediate_when_abnormal"):
                    photo = (photo + " · at once").strip(" ·")
                if it.get("time_sensitive_when_abnormal"):
                    photo = (photo + " · re-inspect ≤ 1 month").strip(" ·")
                if it.get("licence_match"):
                    photo = (photo + " · scanned code checks it").strip(" ·")
                sealed = " · sealed (personal)" if it.get("personal") or (
                    d["kind"] == "event" and it.get("sensitive")) else ""
                out.append("| %s | `%s` | %s%s | %s%s | %s | %s |" % (
                    ", ".join(it["sections"]), it["id"], cell(it["label"]["zh"]), cell(applies),
                    cell(type_text(it)), sealed, abnormal_text(it), photo))
            out.append("")
    out.append("## Adding a county's own checklist\n")
    out.append("See [checklist-format.md](checklist-format.md#adding-a-countys-own-checklist): copy "
               "the closest file, give it a new id and version 1, validate it against "
               "`schema/checklist.schema.json`, and install it with `fic checklist install FILE` "
               "(or `fic_checklist_install()`). A newer version of a built-in checklist installs the "
               "same way; inspections already started keep the version they began with.\n")
    return "\n".join(out)


def main():
    text = render()
    path = os.path.join(ROOT, "docs", "checklists.md")
    if "--check" in sys.argv:
        try:
            with open(path, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = ""
        if current != text:
            print("docs/checklists.md is stale: run tools/docs/gen_checklists_md.py", file=sys.stderr)
            return 1
        return 0
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
