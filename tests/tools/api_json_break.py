#!/usr/bin/env python3
"""Hand-broken API documents, to show the schemas in schema/api/ refuse them.

Takes the documents api_json_dump wrote (SAMPLES) and writes, into OUT, copies
with one deliberate mistake each — a renamed field, a mistyped state, a field
of the wrong type, a field missing where the document's own state needs it, a
fact on a kind of site it does not apply to — named
<schema>.broken-<n>.json, so that the same name-to-schema rule applies as for
the real documents. scripts/check-api-json.sh validates each and expects
ajv to refuse it. Prints one line per document: its file name and the
mistake.

  api_json_break.py SAMPLES OUT
"""
import glob
import json
import os
import sys


def first(samples, pattern):
    """The first sample matching the glob, in name order."""
    for path in sorted(glob.glob(os.path.join(samples, pattern))):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    raise SystemExit("api_json_break: no sample %s" % pattern)


def rename(d, old, new):
    d[new] = d.pop(old)


def mistakes():
    """(schema, sample glob, what the mistake is, change) for each broken document."""

    def set_(key, value):
        return lambda d: d.__setitem__(key, value)

    def drop(key):
        return lambda d: d.pop(key)

    return [
        ("lead", "lead.*.json", "a field renamed: report_to as reportTo",
         lambda d: rename(d, "report_to", "reportTo")),
        ("lead", "lead.*delivered*.json", "a state misspelt: deliverd",
         set_("state", "deliverd")),
        ("lead", "lead.*delivered*.json", "a delivered lead without its receipt_id",
         drop("receipt_id")),
        ("lead", "lead.*urgent*.json", "remaining_ms as a string",
         lambda d: d.__setitem__("remaining_ms", str(d["remaining_ms"]))),
        ("lead", "lead.*draft*.json", "a draft with a chain position",
         set_("chain_seq", 3)),
        ("lead", "lead.patrol_finding.*.json", "a finding without its finding_zh",
         lambda d: d["content"]["findings"][0].pop("finding_zh")),
        ("inspection", "inspection.*.json", "an item's applies as the string \"true\"",
         lambda d: d["items"][0].__setitem__("applies", "true")),
        ("inspection", "inspection.open.json", "an open inspection with finished_at_ms",
         set_("finished_at_ms", 1772356000000)),
        ("inspection", "inspection.finding.json", "a yes/no item answered \"maybe\"",
         lambda d: next(i for i in d["items"] if i["type"] == "yes_no").__setitem__("answer", "maybe")),
        ("site", "site.medical.json", "a school's fact (school_level) on a medical site",
         set_("school_level", "primary")),
        ("site", "site.water_rural.json", "a latitude without its longitude", drop("lon")),
        ("site", "site.school.json", "status misspelt: open", set_("status", "open")),
        ("inspection_summary", "inspection_summary.urgent.json", "an extra field: urgent",
         set_("urgent", True)),
        ("opinion", "opinion.finding.json", "no findings but the findings' conclusion",
         set_("findings", [])),
        ("due_summary", "due_summary.semester.json",
         "schools_not_visited as the list fic_due_json has",
         lambda d: d["semester"].__setitem__("schools_not_visited", [])),
        ("due", "due.semester.json", "a school due in the drinking-water area",
         lambda d: d["areas"]["drinking_water"].append(dict(d["areas"]["school"][0]))),
        ("due_page", "due_page.first_of_several.json", "no next cursor", drop("next")),
        ("tasks", "tasks.day.json", "a task's source misspelt: county",
         lambda d: d[0].__setitem__("source", "county")),
        ("stats", "stats.this_year.json", "a report rate over 100 %",
         set_("report_rate_percent", 150)),
        ("evidence_report", "evidence_report.ok.json", "ok with a problem listed",
         lambda d: d["problems"].append({"kind": "photo_missing", "id": "x", "detail": "gone"})),
        ("chain_report", "chain_report.ok.json", "last_hash in capitals",
         lambda d: d.__setitem__("last_hash", d["last_hash"].upper())),
        ("audit_detail", "audit_detail.lead.file.*.json", "a lead's content in its audit entry",
         set_("content", {"informant_name": "王某"})),
        ("checklist", "checklist.water_field_test.json", "an item type misspelt: yesno",
         lambda d: d["items"][0].__setitem__("type", "yesno")),
    ]


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    samples, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for n, (schema, pattern, what, change) in enumerate(mistakes(), 1):
        doc = first(samples, pattern)
        change(doc)
        name = "%s.broken-%02d.json" % (schema, n)
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)
        print("%s\t%s" % (name, what))


if __name__ == "__main__":
    main()
