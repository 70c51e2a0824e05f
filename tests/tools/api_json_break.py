#!/usr/bin/env python3
"""Hand-broken API documents, to show the schemas in schema/api/ refuse them,
each for the reason it was broken for.

Takes the documents api_json_dump wrote (SAMPLES; with the audit entries
check-api-json.sh made of them, audit_entry.<action>.<seq>.json) and writes,
into OUT, copies with one deliberate mistake each — a renamed field, a
mistyped state, a field of the wrong type, a field missing where the
document's own state needs it, a fact on a kind of site it does not apply
to, a rule between members broken — named <schema>.broken-<n>.json, so that
the same name-to-schema rule applies as for the real documents.
scripts/check-api-json.sh validates each, expects ajv to refuse it, and
expects ajv's error text to hold the reason given here (the path of the
member and what is wrong with it): a copy refused for another reason shows
nothing. Prints one line per document: its file name, the mistake and the
reason, separated by tabs.

  api_json_break.py SAMPLES OUT
"""
import glob
import json
import os
import sys


def first(samples, pattern):
    """The first sample matching the glob, in name order; pattern may be
    (glob, predicate): the first the predicate holds for."""
    name, wanted = pattern if isinstance(pattern, tuple) else (pattern, lambda d: True)
    for path in sorted(glob.glob(os.path.join(samples, name))):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        if wanted(d):
            return d
    raise SystemExit("api_json_break: no sample %s%s" % (name, " as wanted" if isinstance(pattern, tuple) else ""))


def sealed(d):
    return "sealed" in d.get("content", {})


def with_box(change):
    return lambda d: change(d["content"]["sealed"])


# A sealed block as a submitted lead holds it (its box 152 base64 characters).
SEALED = {"v": 1, "alg": "crypto_box_seal", "key_id": "1a1e2d8081ae08b4", "items": ["informant_name"],
          "box": "A" * 152}


def rename(d, old, new):
    d[new] = d.pop(old)


def set_(key, value):
    return lambda d: d.__setitem__(key, value)


def drop(key):
    return lambda d: d.pop(key)


def at(path, change):
    """Apply change to the member at path (keys and indexes) of the document."""
    def f(d):
        for k in path:
            d = d[k]
        change(d)
    return f


def first_where(key, value, change):
    """Apply change to the first item of an array whose key has value."""
    return lambda a: change(next(x for x in a if x.get(key) == value))


def lead_mistakes():
    return [
        ("lead", "lead.*.json", "a field renamed: report_to as reportTo",
         "data must have required property 'report_to'", lambda d: rename(d, "report_to", "reportTo")),
        ("lead", "lead.*delivered*.json", "a state misspelt: deliverd",
         "data/state must be equal to one of the allowed values", set_("state", "deliverd")),
        ("lead", "lead.*delivered*.json", "a delivered lead without its receipt_id",
         "data must have required property 'receipt_id'", drop("receipt_id")),
        ("lead", "lead.*urgent*.json", "remaining_ms as a string",
         "data/remaining_ms must be integer", lambda d: d.__setitem__("remaining_ms", str(d["remaining_ms"]))),
        ("lead", "lead.*draft*.json", "a draft with a chain position",
         "data/chain_seq boolean schema is false", set_("chain_seq", 3)),
        ("lead", "lead.patrol_finding.*.json", "a finding without its finding_zh",
         "data/content/findings/0 must have required property 'finding_zh'",
         lambda d: d["content"]["findings"][0].pop("finding_zh")),
        ("lead", "lead.called_by_deadline.urgent.json", "an urgent lead without its call verdict",
         "data must have required property 'called_by_deadline'", drop("called_by_deadline")),
        ("lead", "lead.tip_off.rejected.*.json", "called by the deadline without a call",
         "data/called_by_deadline boolean schema is false", set_("called_by_deadline", True)),
        ("lead", "lead.overdue.urgent.json", "called by its deadline, with no call",
         "data/calls must NOT have fewer than 1 items", set_("called_by_deadline", True)),
        ("lead", "lead.called_by_deadline.urgent.json", "a call by telex",
         "data/calls/0/method must be equal to one of the allowed values",
         lambda d: d["calls"][0].__setitem__("method", "telex")),
        ("lead", "lead.tip_off.rejected.*.json", "a lead that is not urgent on the two-hour clock",
         "data/urgency must be equal to constant", set_("urgency", "two_hours")),
        ("lead", "lead.immediate.urgent.json", "an immediate lead whose finding has two hours",
         "data/content/findings/0/urgency must be equal to constant",
         lambda d: d["content"]["findings"][0].__setitem__("urgency", "two_hours")),
        ("lead", "lead.water_poisoning.*.json", "a routed tip-off to report immediately",
         "data/urgency must be equal to constant", set_("urgency", "immediate")),
        ("lead", "lead.sms_sent.urgent.json", "the county's SMS confirmation on a lead still queued",
         "data/state must be equal to constant",
         lambda d: d["sms"].update(receipt_id="SZ-SMS-9", received_at_ms=1772362871400,
                                   confirmed_at_ms=1772362871400)),
        ("lead", "lead.sms_sent.urgent.json", "an SMS sent without saying to whom",
         "data/sms must have properties recipient",
         lambda d: d["sms"].pop("recipient")),
        ("lead", "lead.tip_off.rejected.*.json", "a clock never synced with flags 0",
         "data/time_flags must be equal to constant", set_("time_flags", 0)),
        ("lead", ("lead.patrol_finding.delivered.*.json", lambda d: d["time_sensitive"]),
         "a time-sensitive patrol lead without its finding",
         "data/content/findings must contain at least 1 valid item(s)", time_sensitive_without_finding),
        ("lead", ("lead.site_status.delivered.*.json", lambda d: "proof_photos" in d["content"]),
         "a patrol's site report submitted without its proof photos",
         "data/content must have required property 'proof_photos'", patrol_report_without_proof),
        ("lead", ("lead.site_status.draft.*.json",
                  lambda d: d["content"].get("site_finding", {}).get("status") == "changed"),
         "a site changed without the facts before",
         "data/content must have required property 'site_before'", changed_without_before),
        ("lead", ("lead.tip_off.draft.*.json", lambda d: "informant_name" in d["content"]["answers"]),
         "a draft whose answers are sealed (a lead is sealed when it is submitted)",
         "data/content/sealed boolean schema is false",
         lambda d: d["content"].__setitem__("sealed", dict(SEALED))),
        ("lead", ("lead.*.json", sealed), "a sealed box cut short (shorter than one padded block)",
         "data/content/sealed/box must NOT have fewer than 152 characters",
         with_box(lambda b: b.__setitem__("box", b["box"][:100]))),
        ("lead", ("lead.*.json", sealed), "answers sealed by another algorithm",
         "data/content/sealed/alg must be equal to constant",
         with_box(lambda b: b.__setitem__("alg", "aes-256-gcm"))),
        ("lead", ("lead.*.json", sealed), "a sealed block that names no item",
         "data/content/sealed/items must NOT have fewer than 1 items",
         with_box(lambda b: b.__setitem__("items", []))),
    ]


def time_sensitive_without_finding(d):
    if not d["time_sensitive"]:
        raise SystemExit("api_json_break: the sample is not time-sensitive")
    for f in d["content"]["findings"]:
        f.pop("time_sensitive", None)


def patrol_report_without_proof(d):
    if "proof_photos" not in d["content"]:
        raise SystemExit("api_json_break: the sample has no proof photos")
    d["content"].pop("proof_photos")


def changed_without_before(d):
    if d["content"].get("site_finding", {}).get("status") != "changed":
        raise SystemExit("api_json_break: the sample is not a site found changed")
    d["content"].pop("site_before")


def inspection_mistakes():
    return [
        ("inspection", "inspection.*.json", "an item's applies as the string \"true\"",
         "data/items/0/applies must be boolean", lambda d: d["items"][0].__setitem__("applies", "true")),
        ("inspection", "inspection.open.json", "an open inspection with finished_at_ms",
         "data/finished_at_ms boolean schema is false", set_("finished_at_ms", 1772356000000)),
        ("inspection", "inspection.finding.json", "a yes/no item answered \"maybe\"",
         "/answer must be equal to one of the allowed values",
         lambda d: next(i for i in d["items"] if i["type"] == "yes_no").__setitem__("answer", "maybe")),
        ("inspection", "inspection.licence_differs.json", "the visit's mode in words (暗访)",
         "data/visit_mode must be equal to one of the allowed values", set_("visit_mode", "暗访")),
        ("inspection", "inspection.closed_site.json", "an item that applies at a site found closed",
         "data/items/0/applies must be equal to constant", lambda d: d["items"][0].__setitem__("applies", True)),
        ("inspection", "inspection.urgent.json", "an urgent finding without its urgency",
         "must have required property 'urgency'",
         first_where_in("findings", "urgent", True, lambda f: f.pop("urgency"))),
        ("inspection_summary", "inspection_summary.urgent.json", "an extra field: urgent",
         "data must NOT have additional properties", set_("urgent", True)),
        ("inspection_summary", "inspection_summary.published_blue_but_failing.json",
         "published_blue_but_failing false", "data/published_blue_but_failing must be equal to constant",
         set_("published_blue_but_failing", False)),
        ("opinion", "opinion.finding.json", "no findings but the findings' conclusion",
         "data/conclusion must be equal to constant", set_("findings", [])),
    ]


def first_where_in(key, field, value, change):
    return lambda d: change(next(x for x in d[key] if x.get(field) == value))


def place_mistakes():
    return [
        ("site", "site.medical.json", "a school's fact (school_level) on a medical site",
         "data/school_level boolean schema is false", set_("school_level", "primary")),
        ("site", "site.water_rural.json", "a latitude without its longitude",
         "data must have property lon when property lat is present", drop("lon")),
        ("site", "site.school.json", "status misspelt: open",
         "data/status must be equal to one of the allowed values", set_("status", "open")),
        ("site", "site.water_rural.json", "an empty competent authority",
         "data/authority must NOT have fewer than 1 characters", set_("authority", "")),
        ("site_codes", "site_codes.plant.json", "primary as \"yes\"",
         "data/0/primary must be boolean", lambda d: d[0].__setitem__("primary", "yes")),
        ("site_codes", "site_codes.plant.json", "a key without its form",
         "data/1/key must match pattern", lambda d: d[1].__setitem__("key", "cq.example/p#QG-WR-0001-S")),
        ("scan", "scan.differs.json", "matches the registry, with differences",
         "data/differences must NOT have more than 0 items", set_("matches_registry", True)),
        ("scan", "scan.token.json", "a bare token that carries a name",
         "data/code/name boolean schema is false", lambda d: d["code"].__setitem__("name", "幼儿园")),
        ("scan", "scan.differs.json", "a position without its longitude",
         "data/proof must have property lon when property lat is present", lambda d: d["proof"].pop("lon")),
        ("scan", "scan.before_contact.json", "an uncertainty before the first contact",
         "data/proof/time_flags must be equal to one of the allowed values",
         lambda d: d["proof"].__setitem__("uncertainty_ms", 0)),
        ("scan", "scan.differs.json", "a difference in the code's word for the scope",
         "data/differences/0/field must be equal to one of the allowed values",
         lambda d: d["differences"][0].__setitem__("field", "scope")),
    ]


def plan_mistakes():
    return [
        ("patrol_plan", "patrol_plan.county.json", "an origin misspelt: district",
         "data/origin must be equal to one of the allowed values", set_("origin", "district")),
        ("patrol_plan", "patrol_plan.county.json", "the county's own area as one of the guide's",
         "data/areas/other.public_place/builtin must be equal to constant",
         at(["areas", "other.public_place"], lambda a: a.__setitem__("builtin", True))),
        ("patrol_plan", "patrol_plan.default.json", "a kind patrolled 0 times a year",
         "data/areas/school/kinds/school must be >= 1",
         at(["areas", "school", "kinds"], lambda k: k.__setitem__("school", 0))),
        ("patrol_plan", "patrol_plan.default.json", "a kind of site that does not exist: hospital",
         "property name must be valid", at(["areas", "mch", "kinds"], lambda k: k.__setitem__("hospital", 2))),
        ("due_summary", "due_summary.semester.json",
         "schools_not_visited as the list fic_due_json has",
         "data/semester/schools_not_visited must be integer",
         lambda d: d["semester"].__setitem__("schools_not_visited", [])),
        ("due_summary", "due_summary.semester.json", "an area's counts without its title",
         "data/areas/drinking_water must have required property 'title'",
         at(["areas", "drinking_water"], lambda a: a.pop("title"))),
        ("due", "due.semester.json", "a county's area not named other.<subject>",
         "data/areas must NOT have additional properties",
         lambda d: d["areas"].__setitem__("public_place", d["areas"].pop("other.public_place"))),
        ("due", "due.semester.json", "a due site without its patrols a year",
         "data/areas/drinking_water/0 must have required property 'per_year'",
         lambda d: d["areas"]["drinking_water"][0].pop("per_year")),
        ("due_page", "due_page.first_of_several.json", "no next cursor",
         "data must have required property 'next'", drop("next")),
        ("due_page", "due_page.semester.other.public_place.json", "a site due 0 times a year",
         "data/items/0/per_year must be >= 1", lambda d: d["items"][0].__setitem__("per_year", 0)),
        ("tasks", "tasks.day.json", "a task's source misspelt: county",
         "data/0/source must be equal to one of the allowed values",
         lambda d: d[0].__setitem__("source", "county")),
        ("tasks", "tasks.day.json", "a lead's task without its lead",
         "must have required property 'lead_id'", first_where("source", "lead", lambda t: t.pop("lead_id"))),
        ("tasks", "tasks.day.json", "a site without its name",
         "must have property site_name when property site_id is present",
         lambda d: next(t for t in d if "site_name" in t).pop("site_name")),
    ]


def figures_mistakes(samples):
    return [
        ("stats", "stats.this_year.json", "a report rate over 100 %",
         "data/report_rate_percent must be <= 100", set_("report_rate_percent", 150)),
        ("stats", "stats.this_year.json", "no rate although leads were discovered",
         "data/indicators/information_report_rate/percent must be number",
         at(["indicators", "information_report_rate"], lambda r: r.__setitem__("percent", None))),
        ("stats", "stats.this_year.json", "cases assisted under the publicity section",
         "data/indicators/cases_assisted/section must be equal to constant",
         at(["indicators", "cases_assisted"], lambda c: c.__setitem__("section", "实施方案 一(三)4"))),
        ("stats", "stats.this_year.json", "the patrols without the occupational area",
         "data/patrols must have required property 'occupational'", at(["patrols"], lambda p: p.pop("occupational"))),
        ("stats", "stats.this_year.json", "an area's plan met as 是",
         "data/indicators/patrols/areas/school/met must be boolean",
         at(["indicators", "patrols", "areas", "school"], lambda a: a.__setitem__("met", "是"))),
        ("stats", "stats.this_year.json", "trainings below zero", "data/trainings must be >= 0",
         set_("trainings", -1)),
        ("stats", "stats.this_year.json", "the rate's definition reworded",
         "data/report_rate_definition must be equal to constant",
         set_("report_rate_definition", "信息报告率 = 报告数 / 发现数")),
        ("register", "register.reports.json", "a patrol's row in the report register",
         "data/rows/0 must have required property 'lead_id'",
         lambda d: d["rows"].insert(0, first(samples, "register.patrols.json")["rows"][0])),
        ("register", "register.patrols.json", "the visit's mode as its code (unannounced)",
         "/visit_mode must be equal to one of the allowed values",
         first_where_in("rows", "visit_mode", "暗访", lambda r: r.__setitem__("visit_mode", "unannounced"))),
        ("register", "register.patrols.json", "made_at with slashes", "data/made_at must match pattern",
         set_("made_at", "2026/03/25 19:10")),
        ("register", "register.patrols.json", "nothing to report, but a recipient",
         "/report_to must be equal to constant",
         first_where_in("rows", "reported", "无需", lambda r: r.__setitem__("report_to", "卫生健康监督执法机构"))),
        ("register", "register.reports_month_area.json", "a month's register titled for the year",
         "data/period must match pattern", set_("period", "2026年　食源性疾病")),
        ("activity_list", "activity_list.year.json", "a case without its case number",
         "must have required property 'case_ref'", first_where("kind", "case", lambda a: a.pop("case_ref"))),
        ("activity_list", "activity_list.year.json", "a channel misspelt: village",
         "/channel must be equal to one of the allowed values",
         first_where("kind", "publicity", lambda a: a.__setitem__("channel", "village"))),
        ("activity_list", "activity_list.year.json", "people not counted as -1",
         "/people must be >= 0", first_where("kind", "publicity", lambda a: a.__setitem__("people", -1))),
        ("sample_list", "sample_list.after_result.json", "a result without its date",
         "must have property result_on when property result is present", lambda d: d[0].pop("result_on")),
        ("sample_list", "sample_list.after_result.json", "a result as passed",
         "data/0/result must be equal to one of the allowed values", lambda d: d[0].__setitem__("result", "passed")),
        ("notices_due", "notices_due.before.json", "a notice due for a clinic",
         "data/0/kind must be equal to one of the allowed values", lambda d: d[0].__setitem__("kind", "medical")),
        ("notices_due", "notices_due.before.json", "a notice due for an abnormal finding",
         "data/0/reason must be equal to one of the allowed values", lambda d: d[0].__setitem__("reason", "abnormal")),
        ("water_status", "water_status.later.json", "a supply published blue and failing, not flagged",
         "data/0/flagged must be equal to constant", lambda d: d[0].__setitem__("flagged", False)),
        ("water_status", "water_status.later.json", "a passing verdict shown red",
         "/colour must be equal to constant", first_where("verdict", "pass", lambda w: w.__setitem__("colour", "red"))),
        ("water_status", "water_status.later.json", "a verdict without the test's date",
         "tested_on when property verdict is present", lambda d: d[0].pop("tested_on")),
        ("sms_due", "sms_due.only_when_asked.json", "leads due by SMS when SMS goes only when asked",
         "data/leads must NOT have more than 0 items",
         lambda d: d["leads"].append({"lead_id": "019ca8d2-c5a8-715c-95ac-5c9cdde49387", "title": "【紧急】",
                                      "remaining_ms": 60000})),
        ("sms_due", "sms_due.due.json", "a gateway number with letters",
         "data/recipient must match pattern", set_("recipient", "county-gateway")),
    ]


def evidence_mistakes():
    return [
        ("evidence_report", "evidence_report.ok.json", "ok with a problem listed",
         "data/problems must NOT have more than 0 items",
         lambda d: d["problems"].append({"kind": "photo_missing", "id": "019ca8d2-c5a8-715c-95ac-5c9cdde49387",
                                         "detail": "gone"})),
        ("chain_report", "chain_report.ok.json", "last_hash in capitals", "data/last_hash must match pattern",
         lambda d: d.__setitem__("last_hash", d["last_hash"].upper())),
        ("checklist", "checklist.water_field_test.json", "an item type misspelt: yesno",
         "data/items/0/type must be equal to one of the allowed values",
         lambda d: d["items"][0].__setitem__("type", "yesno")),
        ("audit_entry", "audit_entry.lead.file.*.json", "a lead's content in its audit entry",
         "data/detail must NOT have additional properties",
         lambda d: d["detail"].__setitem__("content", {"informant_name": "王某"})),
        ("audit_entry", "audit_entry.task.done.*.json", "a task's note in its audit entry",
         "data/detail must NOT have additional properties", lambda d: d["detail"].__setitem__("note", "已复查")),
        ("audit_entry", "audit_entry.lead.call.*.json", "an action the library does not write",
         "data/action must be equal to one of the allowed values", set_("action", "lead.delete")),
        ("audit_entry", "audit_entry.lead.sms.*.json", "a call's detail on an SMS's entry",
         "data/detail must have required property 'parts'",
         lambda d: d.__setitem__("detail", {"lead": "019ca8d2-c5a8-715c-95ac-5c9cdde49387", "method": "phone",
                                            "called_at_ms": 1772358001800})),
        ("audit_entry", "audit_entry.inspection.start.*.json", "the visit's mode as its number",
         "data/detail/visit_mode must be equal to one of the allowed values",
         lambda d: d["detail"].__setitem__("visit_mode", 2)),
        ("audit_entry", "audit_entry.setting.set.*.json", "a setting the library does not take",
         "data/detail/key must be equal to one of the allowed values",
         lambda d: d["detail"].__setitem__("key", "theme")),
        ("audit_entry", "audit_entry.photo.add.*.json", "a photo of a lead naming an item",
         "data/detail/item must be null", photo_of_lead_with_item),
        ("audit_entry", "audit_entry.lead.submit.*.json", "a submission without how many answers were sealed",
         "data/detail must have required property 'sealed'", lambda d: d["detail"].pop("sealed")),
        ("audit_entry", "audit_entry.sync.county_key.*.json", "the county key itself for its id",
         "data/detail/key_id must match pattern",
         lambda d: d["detail"].__setitem__("key_id", "CQgHBgUEAwIBAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")),
        ("audit_entry", "audit_entry.sync.token_moved.*.json", "the moved token in its audit entry",
         "data/detail must NOT have more than 0 properties",
         lambda d: d["detail"].__setitem__("token", "tok-older-0123456789abcdef")),
    ]


def photo_of_lead_with_item(d):
    d["detail"].update(owner="lead", item="ph")


def mistakes(samples):
    """(schema, sample glob, what the mistake is, the reason ajv must give, change)."""
    return (lead_mistakes() + inspection_mistakes() + place_mistakes() + plan_mistakes()
            + figures_mistakes(samples) + evidence_mistakes())


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    samples, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for n, (schema, pattern, what, reason, change) in enumerate(mistakes(samples), 1):
        doc = first(samples, pattern)
        change(doc)
        name = "%s.broken-%02d.json" % (schema, n)
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)
        print("%s\t%s\t%s" % (name, what, reason))


if __name__ == "__main__":
    main()
