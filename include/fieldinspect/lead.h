/*
 * fieldinspect/lead.h — leads (线索) for the enforcement agency, the
 * two-hour event reports, re-inspection tasks, the due list and indicators.
 *
 * Leads come from finished inspections (inspection.h) and from forms filed by
 * hand: tip-offs (including 12345 hotline reports), site status reports, and
 * the two-hour event reports of the guide — foodborne disease (to the
 * district CDC), water poisoning, a school cluster, blood collection beyond
 * the approved scope, a 两非 tip-off, illegal assisted reproduction and an
 * occupational-health emergency. An urgent lead's deadline is the time the
 * matter was discovered plus two hours.
 *
 * Threading and durability: as for the store (store.h).
 */
#ifndef FIELDINSPECT_LEAD_H
#define FIELDINSPECT_LEAD_H

#include "common.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Two hours, the reporting deadline of an urgent lead. */
#define FIC_URGENT_DEADLINE_MS (2 * 60 * 60 * 1000LL)

/**
 * How soon a lead must reach the agency (fic_lead_info.urgent):
 * none; within two hours of discovery (the guide's two-hour rules:
 * deadline = discovered + FIC_URGENT_DEADLINE_MS); or immediately
 * (立即报告, 非法行医 3.4.1: the same violation found again when a
 * time-sensitive lead is re-inspected) — deadline = discovered, so the lead
 * is overdue from the moment it is found and sent before everything else.
 */
#define FIC_URGENCY_NONE 0
#define FIC_URGENCY_TWO_HOURS 1
#define FIC_URGENCY_IMMEDIATE 2
/** An undelivered urgent lead is at risk when its deadline is this near (less the clock's uncertainty). */
#define FIC_AT_RISK_MS (30 * 60 * 1000LL)

/** fic_lead_file() flags. */
#define FIC_LEAD_DRAFT 1u /**< keep it as a draft (to attach photos first); submit with fic_lead_submit() */

/**
 * File a lead from an event or tip-off form (a checklist of kind "event").
 *
 * @param id_out receives the lead id (FIC_UUID_BUFSIZE bytes).
 * @param form_id e.g. "event.school_cluster", "lead.tip_off".
 * @param answers_json a JSON object {item id: answer}; each answer is the
 *   text form of fic_inspection_answer() (a JSON string), or for numbers and
 *   lists the JSON number or array. Every required item must be answered.
 * @param site_id the site concerned, or NULL.
 * @param discovered_at_ms when the matter was discovered (device UTC ms) —
 *   for a tip-off, when the tip was received; 0 means now. Not in the
 *   future. Deadlines run from it on trusted time (evidence.h): the
 *   device's offset from the server is applied.
 *
 * A tip-off (lead.tip_off) whose subject falls under a two-hour rule — 两非
 * (妇幼健康 三(二)3), illegal assisted reproduction (三(二)4), a water
 * poisoning (饮用水 三(二)4), a school outbreak (学校卫生 三(二)4), blood
 * collected beyond scope (非法行医 三(二)3), an occupational emergency
 * (职业卫生 三(二)4), foodborne disease (食源性疾病 三(二), to the district
 * CDC) — is routed to that rule: it is filed urgent, its deadline two hours
 * after it was received, with the category and recipient of the rule's form
 * (its content's "routed_to" names the form to complete once verified). A
 * 12345 tip-off carries its ticket number (item ticket_12345).
 * @param flags 0 to submit at once (fic_lead_submit(): personal answers are
 *   sealed), or FIC_LEAD_DRAFT.
 * @return FIC_OK; FIC_ENOTFOUND (form or site); FIC_EINVAL (malformed JSON,
 *   unknown item, bad answer); FIC_EINCOMPLETE (a required item is missing:
 *   the message lists them); FIC_ETOOBIG; FIC_ESTATE (submitting at once a
 *   lead with personal answers on a device without a county key: nothing
 *   is filed — file it as a draft and submit it after enrolment).
 */
FIC_EXTERN int fic_lead_file(char *id_out, fic_store *store, const char *form_id,
                             const char *answers_json, const char *site_id,
                             int64_t discovered_at_ms, unsigned int flags);

/**
 * Submit a draft lead: its personal answers (the items its form marks
 * `personal`: an informant's name and phone, a diner's phone) are sealed to
 * the county's public key, pinned at enrolment (sync.h), with libsodium's
 * sealed boxes — from then on the device holds only ciphertext of them, in
 * the lead, its chain entry and its upload record, and cannot open it;
 * only the county's private key can (`fic-county-server open`). Then its
 * content (with its photos, by hash) is frozen, its canonical form — with
 * the sealed box, which the chain thus covers — hashed and appended to the
 * device's hash chain (evidence.h), and it is queued for upload — one
 * transaction. A draft stays readable until it is submitted. Lifecycle:
 * draft → queued (submitted and queued together) → delivered (the county
 * server stored it: its receipt id and receipt time, recorded in the same
 * transaction as the server's answer) or rejected (refused for good: the
 * server's reason, for the inspector to see and act on). A lead whose upload
 * failed for a passing reason (no network, a busy server) stays queued.
 * @return FIC_OK; FIC_ENOTFOUND; FIC_ESTATE if it is not a draft, or if it
 *   holds personal answers and no county key is pinned yet (enrol first;
 *   the lead stays a draft).
 */
FIC_EXTERN int fic_lead_submit(fic_store *store, const char *lead_id);

/**
 * Correct a submitted lead: its content stays as it was; a new lead (category
 * "correction") referencing it carries `note` and is submitted at once.
 */
FIC_EXTERN int fic_lead_correct(char *id_out, fic_store *store, const char *lead_id,
                                const char *note);

/** A lead as listed. Strings live as long as the list. */
typedef struct fic_lead_info {
	const char *id;
	const char *category;   /**< e.g. "patrol_finding", "school_cluster", "tip_off" */
	const char *area;
	const char *title;      /**< one line, Chinese */
	const char *state;      /**< draft, queued, delivered, rejected */
	const char *report_to;  /**< "enforcement" or "district_cdc" */
	const char *site_id;    /**< or NULL */
	int urgent;             /**< FIC_URGENCY_*: 0 none, 1 two hours, 2 immediately */
	int64_t discovered_at_ms; /**< device time given when filed */
	int64_t deadline_at_ms; /**< trusted time; 0 if not urgent (= discovery when immediate) */
	int64_t remaining_ms;   /**< deadline minus trusted now (negative when overdue); 0 if not urgent */
	int at_risk;            /**< urgent, not delivered nor phoned in, and the deadline (less the
	                             clock's uncertainty) within FIC_AT_RISK_MS: tell the inspector
	                             to phone */
	int time_flags;         /**< FIC_TIME_* flags of the lead's own timestamp */
	int64_t receipt_at_ms;  /**< delivered: when the county server received it (its clock); else 0 */
	const char *reject_reason; /**< rejected: the server's reason; else NULL */
	int64_t called_at_ms;   /**< the first phone or fax call reporting it (fic_lead_call_record), or 0 */
	int sealed;             /**< how many answers were sealed at submission (personal: an
	                             informant's name or phone, a diner's phone); 0: none. The app
	                             shows those items as sealed: the device cannot read them */
} fic_lead_info;

/** Walk it with fic_lead_list_at() (an entry may grow in a later version). */
typedef struct fic_lead_list {
	fic_lead_info *entries;
	size_t count;
	size_t entry_size; /**< sizeof (fic_lead_info) in the library that made the list */
} fic_lead_list;

/** Entry `i`, or NULL when out of range (or list NULL). */
FIC_EXTERN const fic_lead_info *fic_lead_list_at(const fic_lead_list *list, size_t i);

/**
 * All leads, urgent first ordered by remaining time (most pressing first),
 * then the others newest first. `limit` 0 = all.
 */
FIC_EXTERN int fic_lead_list_get(fic_lead_list **out, fic_store *store, size_t limit);
FIC_EXTERN void fic_lead_list_free(fic_lead_list *list);

/** Longest `to_whom` and `note` of fic_lead_call_record(), in bytes. */
#define FIC_CALL_TEXT_MAX 500

/**
 * Record the phone or fax call that reported a lead. The foodborne report's
 * two-hour duty is such a call to the district CDC (食源性疾病 三(二):
 * "两小时内采用电话或传真等形式报告辖区疾病预防控制机构"), apart from the
 * upload; an urgent lead at risk is phoned in the same way. The call is
 * audited and uploaded (record "call"); a lead called in by its deadline is
 * no longer at risk and its JSON says the duty was met ("calls",
 * "called_by_deadline").
 * @param method "phone" or "fax".
 * @param called_at_ms when the call was made (device UTC ms), 0 = now; not
 *   in the future, not before the lead was discovered.
 * @param to_whom who took it (the CDC's duty officer, a name and number).
 * @param note optional.
 * @return FIC_OK; FIC_EINVAL (NULL, bad method or time, empty to_whom);
 *   FIC_ENOTFOUND (lead); FIC_ETOOBIG.
 */
FIC_EXTERN int fic_lead_call_record(fic_store *store, const char *lead_id, const char *method,
                                    int64_t called_at_ms, const char *to_whom, const char *note);

/**
 * One lead with its full content (answers or findings) as JSON. Free with
 * fic_free(). A submitted lead whose personal answers were sealed has them
 * in content.sealed — {"v": 1, "alg": "crypto_box_seal", "key_id", "items":
 * [the item ids], "box": base64} — not in content.answers: show the items
 * as sealed (the device cannot open the box).
 * Schema: schema/api/lead.schema.json.
 */
FIC_EXTERN int fic_lead_get_json(char **out, fic_store *store, const char *lead_id);

/**
 * Open tasks (re-inspections: a time-sensitive lead must be re-inspected
 * within one month, 非法行医 3.4.1 — filed by a time-sensitive tip-off or a
 * patrol finding such as a "游医" stall; tasks assigned by the agency, 3.4.2)
 * as a JSON array ordered by due date. Free with fic_free().
 * Schema: schema/api/tasks.schema.json.
 */
FIC_EXTERN int fic_task_list_json(char **out, fic_store *store);

/** Longest note fic_task_complete() takes, in bytes. */
#define FIC_TASK_NOTE_MAX 2000

/**
 * Complete an open re-inspection task (非法行医 3.4.1, 3.4.2): the task is
 * done, with the finished inspection that did it and the inspector's note,
 * audited and queued for upload so the agency sees it closed. Finishing a
 * `medical.reinspection` completes the open tasks of its site by itself
 * (only the task or lead named in its `original_lead` answer, when it names
 * one); this call is for the rest — a task without a site, or a re-visit
 * made with another checklist.
 * @param inspection_id a finished inspection of the task's site, or NULL
 *   when there is none to name (then `note` must say what was done).
 * @param note what was found (NULL or "" only with an inspection).
 * @return FIC_OK; FIC_EINVAL (NULL store or task id, an inspection of
 *   another site, no inspection and no note); FIC_ENOTFOUND (task or
 *   inspection); FIC_ESTATE (the task is not open, or the inspection is not
 *   finished); FIC_ETOOBIG (note).
 */
FIC_EXTERN int fic_task_complete(fic_store *store, const char *task_id, const char *inspection_id,
                                 const char *note);

/**
 * The whole due list as JSON: for each service area, every open site that
 * has had fewer than the required two patrols this year (实施方案 一(三)2),
 * and every school not yet visited in the first month of the current
 * semester (学校卫生 三(一)2; semester start dates from the setting
 * "semester_starts", e.g. "2026-03-01,2026-09-01"). Free with fic_free().
 *
 * Its size and time grow with the registry (14 MB of JSON and 0.3 s at
 * 100 000 sites): for a screen, use fic_due_summary_json() and
 * fic_due_page_json(); this stays for exports and small stores.
 * Schema: schema/api/due.schema.json.
 */
FIC_EXTERN int fic_due_json(char **out, fic_store *store);

/**
 * The due list's counts, as JSON, in time and memory that do not grow with
 * the registry:
 *
 *     {"today": "2026-03-02", "patrols_required_per_year": 2,
 *      "areas": {"drinking_water": {"title": "饮用水卫生", "per_year": 2,
 *                                   "open_sites": 812, "due": 640,
 *                                   "not_patrolled_this_year": 512}, …
 *                (drinking_water, school, medical_blood, mch, occupational,
 *                 then the county's own areas: fic_patrol_plan_set)},
 *      "semester": {"start": "2026-02-23", "first_month_ends": "2026-03-23",
 *                   "schools_not_visited": 41, "overdue": false}}
 *
 * "due": open sites with fewer patrols this year than their plan asks (two,
 * unless the county's plan says otherwise); "semester" only
 * when "semester_starts" names a start on or before today. The sites
 * themselves come page by page from fic_due_page_json(). Free with fic_free().
 * Schema: schema/api/due_summary.schema.json.
 * @return FIC_OK; FIC_EINVAL (NULL); FIC_ENOMEM; a store error.
 */
FIC_EXTERN int fic_due_summary_json(char **out, fic_store *store);

/** Most sites fic_due_page_json() returns in one page. */
#define FIC_DUE_PAGE_MAX 500
/** Longest cursor fic_due_page_json() returns (bytes, without the NUL). */
#define FIC_DUE_CURSOR_MAX 1024

/**
 * One page of the due sites of an area, most overdue first: never patrolled
 * (by name), then by the date of the last patrol in the area, oldest first.
 *
 *     {"area": "school", "today": "2026-03-02",
 *      "items": [{"site_id": "…", "name": "…", "kind": "school",
 *                 "last_patrol": "2025-04-09" or null, "patrols_this_year": 0}, …],
 *      "next": "<cursor>" or null}
 *
 * @param area "drinking_water", "school", "medical_blood", "mch",
 *   "occupational", a county area (sites with fewer patrols this year than
 *   their plan asks), or
 *   "school_semester" (schools not visited in the first month of the
 *   current semester; items carry "overdue": true once that month is over;
 *   the page has "semester_start" and "first_month_ends", both null and no
 *   items without a current semester).
 * @param cursor NULL or "" for the first page, else the "next" of the
 *   previous page (opaque text, at most FIC_DUE_CURSOR_MAX bytes). Paging is
 *   by position in the order, so a site that changes between pages (a
 *   patrol finished) may move past the cursor or be passed over.
 * @param limit 1..FIC_DUE_PAGE_MAX sites.
 * The work is the page's sites plus the sites passed over as not due (they
 * were patrolled this year, so they come last), never the whole registry.
 * Free with fic_free(). Schema: schema/api/due_page.schema.json.
 * @return FIC_OK; FIC_EINVAL (NULL, unknown area, limit out of range, a
 *   cursor this function did not make); FIC_ETOOBIG (cursor too long);
 *   FIC_ENOMEM; a store error.
 */
FIC_EXTERN int fic_due_page_json(char **out, fic_store *store, const char *area,
                                 const char *cursor, size_t limit);

/**
 * The patrol plan: which service areas sites are patrolled in, which kinds
 * of site each area patrols, and how many patrols a year each needs. The
 * guide asks for at least two a year in each area (实施方案 一(三)2) and
 * lets each district set its own plan (each area's 巡查周期: "由辖区卫生健康委
 * 制定工作方案"), including areas of its own (其他专业, 实施方案 二(二)7).
 * The county sends its plan in its settings feed; this call sets one on a
 * device the county has not (FIC_ESTATE once the county's has arrived).
 *
 *     {"areas": {"drinking_water": {"per_year": 2, "kinds": {"water_secondary": 4}},
 *                "mch": {"kinds": {"medical": 2}},
 *                "other.public_place": {"title": "公共场所卫生", "per_year": 2,
 *                                       "kinds": {"other_venue": 2}}}}
 *
 * Areas not named keep the guide's defaults (two a year, the guide's kinds:
 * water supplies; schools; medical institutions, blood and plasma stations,
 * MCH institutions and other venues for illegal practice; MCH institutions
 * for MCH services; employers). An area's "kinds" adds kinds to it or, with
 * 0, takes one out; "per_year" (1–52) is the area's default. A site also
 * joins an area when a patrol of it there is finished (a hospital's MCH
 * patrol makes it an MCH site), or when the county's registry says so (its
 * "areas"). A county area's checklists (area "other.<subject>") count in it.
 * At most 16 KiB. @return FIC_OK; FIC_EINVAL (malformed, unknown area or
 * kind, out of range; nothing changed); FIC_ESTATE; FIC_ETOOBIG.
 */
FIC_EXTERN int fic_patrol_plan_set(fic_store *store, const char *json);

/** The plan in force as JSON: {"origin", "areas": {area: {title, per_year, builtin, kinds}}}. */
FIC_EXTERN int fic_patrol_plan_json(char **out, fic_store *store);

/**
 * Indicators for a calendar year (0 = this year) as JSON: the information
 * report rate (实施方案 一(三)1: 信息报告率 = 报告的事件或线索次数 /
 * 发现的事件或线索次数 × 100 %) and patrols per service area. Each event or
 * lead discovered in the year counts once — a correction is not another
 * discovery nor another report; reported means submitted to the agency
 * (queued or delivered), so a draft or a lead the server refused for good
 * is discovered and not reported. Its "indicators" object holds the plan's
 * four (实施方案 一(三)1–4): the information report rate; patrols per area
 * against the plan's number a year; cases assisted (案件查办数量) and
 * publicity events (普法宣传次数), from the activities recorded
 * (records.h); trainings beside them. Free with fic_free().
 * Schema: schema/api/stats.schema.json.
 */
FIC_EXTERN int fic_stats_json(char **out, fic_store *store, int year);

/**
 * Store settings: "utc_offset_minutes" (default 480), "semester_starts"
 * (comma-separated YYYY-MM-DD), "outbox_retention_days" (default 7, 0..3650:
 * how long an upload record is kept after the server acknowledged it; the
 * sync pass then deletes it with its payload, docs/architecture.md
 * "Retention"), "sms_gateway_number" (the county's SMS gateway: an optional
 * + and 3 to 20 digits; unset by default, and then no SMS can be made) and
 * "sms_fallback_minutes" (default 60, 0..120: an urgent lead not delivered
 * by data is due to go by SMS when its deadline is this near; 0: only when
 * the inspector asks; sms.h). Unknown keys and malformed values are refused.
 */
FIC_EXTERN int fic_setting_set(fic_store *store, const char *key, const char *value);
/** The value of a setting (its default if unset). Free with fic_free(). */
FIC_EXTERN int fic_setting_get(char **out, fic_store *store, const char *key);

#ifdef __cplusplus
}
#endif

#endif
