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
 * @param discovered_at_ms when the matter was discovered (device UTC ms);
 *   0 means now. Not in the future. Deadlines run on trusted time
 *   (evidence.h): the device's offset from the server is applied.
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
	int urgent;
	int64_t discovered_at_ms; /**< device time given when filed */
	int64_t deadline_at_ms; /**< trusted time; 0 if not urgent */
	int64_t remaining_ms;   /**< deadline minus trusted now (negative when overdue); 0 if not urgent */
	int at_risk;            /**< urgent, not delivered, and the deadline (less the clock's
	                             uncertainty) within FIC_AT_RISK_MS: tell the inspector to phone */
	int time_flags;         /**< FIC_TIME_* flags of the lead's own timestamp */
	int64_t receipt_at_ms;  /**< delivered: when the county server received it (its clock); else 0 */
	const char *reject_reason; /**< rejected: the server's reason; else NULL */
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

/**
 * One lead with its full content (answers or findings) as JSON. Free with
 * fic_free(). A submitted lead whose personal answers were sealed has them
 * in content.sealed — {"v": 1, "alg": "crypto_box_seal", "key_id", "items":
 * [the item ids], "box": base64} — not in content.answers: show the items
 * as sealed (the device cannot open the box).
 */
FIC_EXTERN int fic_lead_get_json(char **out, fic_store *store, const char *lead_id);

/**
 * Open tasks (re-inspections: a time-sensitive lead must be re-inspected
 * within one month, 非法行医 3.4.1; tasks assigned by the agency, 3.4.2) as a
 * JSON array ordered by due date. Free with fic_free().
 */
FIC_EXTERN int fic_task_list_json(char **out, fic_store *store);

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
 */
FIC_EXTERN int fic_due_json(char **out, fic_store *store);

/**
 * The due list's counts, as JSON, in time and memory that do not grow with
 * the registry:
 *
 *     {"today": "2026-03-02", "patrols_required_per_year": 2,
 *      "areas": {"drinking_water": {"open_sites": 812, "due": 640,
 *                                   "not_patrolled_this_year": 512}, …
 *                (drinking_water, school, medical_blood, mch, occupational)},
 *      "semester": {"start": "2026-02-23", "first_month_ends": "2026-03-23",
 *                   "schools_not_visited": 41, "overdue": false}}
 *
 * "due": open sites with fewer than two patrols this year; "semester" only
 * when "semester_starts" names a start on or before today. The sites
 * themselves come page by page from fic_due_page_json(). Free with fic_free().
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
 *   "occupational" (sites with fewer than two patrols this year), or
 *   "school_semester" (schools not visited in the first month of the
 *   current semester; items carry "overdue": true once that month is over;
 *   the page has "semester_start" null and no items without a semester).
 * @param cursor NULL or "" for the first page, else the "next" of the
 *   previous page (opaque text, at most FIC_DUE_CURSOR_MAX bytes). Paging is
 *   by position in the order, so a site that changes between pages (a
 *   patrol finished) may move past the cursor or be passed over.
 * @param limit 1..FIC_DUE_PAGE_MAX sites.
 * The work is the page's sites plus the sites passed over as not due (they
 * were patrolled this year, so they come last), never the whole registry.
 * Free with fic_free().
 * @return FIC_OK; FIC_EINVAL (NULL, unknown area, limit out of range, a
 *   cursor this function did not make); FIC_ETOOBIG (cursor too long);
 *   FIC_ENOMEM; a store error.
 */
FIC_EXTERN int fic_due_page_json(char **out, fic_store *store, const char *area,
                                 const char *cursor, size_t limit);

/**
 * Indicators for a calendar year (0 = this year) as JSON: the information
 * report rate = leads reported / leads discovered × 100 % (实施方案 一(三)1)
 * and patrols per service area. Free with fic_free().
 */
FIC_EXTERN int fic_stats_json(char **out, fic_store *store, int year);

/**
 * Store settings: "utc_offset_minutes" (default 480), "semester_starts"
 * (comma-separated YYYY-MM-DD), "outbox_retention_days" (default 7, 0..3650:
 * how long an upload record is kept after the server acknowledged it; the
 * sync pass then deletes it with its payload, docs/architecture.md
 * "Retention"). Unknown keys and malformed values are refused.
 */
FIC_EXTERN int fic_setting_set(fic_store *store, const char *key, const char *value);
/** The value of a setting (its default if unset). Free with fic_free(). */
FIC_EXTERN int fic_setting_get(char **out, fic_store *store, const char *key);

#ifdef __cplusplus
}
#endif

#endif
