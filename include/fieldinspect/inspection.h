/*
 * fieldinspect/inspection.h — checklists and inspections (巡查).
 *
 * Checklists are versioned data (JSON files under schema/checklists, format in
 * docs/checklist-format.md): the built-in set follows the Chongqing guide
 * 渝卫发〔2022〕8号 附件, and a county can install its own or newer versions.
 * An inspection runs one checklist version on one site: the inspector answers
 * items in any order, changes answers until finishing, attaches notes, and
 * finishes. Finishing judges every answer by the checklist's own rules and
 * reports the abnormal ones to the enforcement agency as leads (lead.h) — the
 * guide's "the system reports abnormal items by itself" (服务方法 2(1)).
 *
 * Dates: an inspection's date is the local calendar date when it started, in
 * the store's UTC offset (setting "utc_offset_minutes", default 480 = China
 * Standard Time). Date rules (licence validity, a test report within a year,
 * validation and testing intervals) are judged against that date.
 *
 * Threading and durability: as for the store (store.h).
 */
#ifndef FIELDINSPECT_INSPECTION_H
#define FIELDINSPECT_INSPECTION_H

#include "common.h"
#include "store.h"
#include "site.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- checklists ---- */

/** One checklist or event form, as listed. Strings live as long as the list. */
typedef struct fic_checklist_info {
	const char *id;
	int version;
	int is_event;          /**< 1 for an event report form, 0 for a patrol checklist */
	const char *area;      /**< foodborne, drinking_water, school, medical_blood, mch, occupational, general */
	const char *title_zh;
	const char *title_en;
	int builtin;           /**< 1 if it ships with the library, 0 if installed */
	int items;             /**< number of items */
} fic_checklist_info;

/** Walk it with fic_checklist_list_at() (an entry may grow in a later version). */
typedef struct fic_checklist_list {
	fic_checklist_info *entries;
	size_t count;
	size_t entry_size; /**< sizeof (fic_checklist_info) in the library that made the list */
} fic_checklist_list;

/** Entry `i`, or NULL when out of range (or list NULL). */
FIC_EXTERN const fic_checklist_info *fic_checklist_list_at(const fic_checklist_list *list,
                                                           size_t i);

/** Flags for fic_checklist_list_get(). */
#define FIC_CHECKLIST_PATROLS 1u  /**< patrol checklists */
#define FIC_CHECKLIST_EVENTS 2u   /**< event report forms */
#define FIC_CHECKLIST_ALL_VERSIONS 4u /**< every version, not just the current one */

/**
 * The current (highest) version of each checklist, filtered by `flags` and,
 * when `site_kind` is non-zero, to those that apply to that kind of site
 * (what the app offers when an inspection starts). Ordered by id.
 */
FIC_EXTERN int fic_checklist_list_get(fic_checklist_list **out, fic_store *store, int site_kind,
                                      unsigned int flags);
FIC_EXTERN void fic_checklist_list_free(fic_checklist_list *list);

/**
 * The definition JSON of a checklist; version 0 = current. Free with fic_free().
 * Schema: schema/checklist.schema.json.
 */
FIC_EXTERN int fic_checklist_get_json(char **out, fic_store *store, const char *id, int version);

/**
 * Install a checklist definition (JSON text, at most 256 KiB), e.g. a county's
 * own or a newer version delivered by sync. It is validated completely (the
 * JSON Schema's rules and more: operators, item references, nesting) and must
 * be newer than every version of that id already known.
 * @return FIC_OK; FIC_EINVAL with the first problem (nothing changed);
 *   FIC_ETOOBIG; FIC_EEXISTS if that version or a newer one exists.
 */
FIC_EXTERN int fic_checklist_install(fic_store *store, const char *json, size_t len);

/* ---- inspections ---- */

/**
 * Start an inspection of `site_id` with the current version of
 * `checklist_id`, which must be a patrol checklist for the site's kind.
 * Items with a `prefill` are answered from the registry (the inspector can
 * change them). Writes the new id (FIC_UUID_BUFSIZE bytes) into `id_out`.
 * @return FIC_OK; FIC_ENOTFOUND (site or checklist); FIC_EINVAL (checklist is
 *   an event form or does not fit the site's kind); FIC_ESTATE (site closed).
 */
FIC_EXTERN int fic_inspection_start(char *id_out, fic_store *store, const char *site_id,
                                    const char *checklist_id);

/** How a patrol is made (seed 002: 明查 and 暗访, announced and unannounced supervision). */
typedef enum fic_visit_mode {
	FIC_VISIT_UNSAID = 0,      /**< not recorded */
	FIC_VISIT_ANNOUNCED = 1,   /**< 明查: the site knew of the visit */
	FIC_VISIT_UNANNOUNCED = 2  /**< 暗访: it did not */
} fic_visit_mode;

#define FIC_INSPECTION_OPTIONS_VERSION 1

/** Options for fic_inspection_start_opts(). Initialise with FIC_INSPECTION_OPTIONS_INIT. */
typedef struct fic_inspection_options {
	unsigned int version; /**< FIC_INSPECTION_OPTIONS_VERSION */
	int visit_mode;       /**< fic_visit_mode */
	/** The scan of the site's posted place code that starts this visit (fic_visit_scan):
	 *  its proof of presence, and the facts the code carried checked against the
	 *  registry. NULL: none. Borrowed. */
	const char *scan_id;
} fic_inspection_options;

#define FIC_INSPECTION_OPTIONS_INIT { FIC_INSPECTION_OPTIONS_VERSION, FIC_VISIT_UNSAID, NULL }

/**
 * fic_inspection_start() with options: whether the visit is announced or
 * unannounced (recorded with the inspection, its register line and its
 * chained record), and the place-code scan that started it. NULL options =
 * fic_inspection_start().
 * @return as fic_inspection_start(); FIC_EINVAL (unknown version or mode, a
 *   scan of another site); FIC_ENOTFOUND (scan); FIC_ESTATE (the scan
 *   already started a visit).
 */
FIC_EXTERN int fic_inspection_start_opts(char *id_out, fic_store *store, const char *site_id,
                                         const char *checklist_id,
                                         const fic_inspection_options *opts);

/**
 * Answer (or re-answer) an item. `value` is text in the item's form (yes/no/na,
 * 7.2, 42, 2026-03-01, a choice id, ids separated by commas, free text, or
 * daily counts separated by commas); NULL clears the answer. A value of the
 * wrong type or out of range is refused and nothing is stored.
 *
 * An answer that makes an item subject to a two-hour rule abnormal files its
 * urgent lead at once, in the same transaction (its clock starts now, not when
 * the inspection is finished); changing the answer later does not withdraw
 * it — file a correction (fic_lead_correct).
 * @return FIC_OK; FIC_ENOTFOUND (inspection or item); FIC_EINVAL; FIC_ETOOBIG;
 *   FIC_ESTATE if the inspection is finished.
 */
FIC_EXTERN int fic_inspection_answer(fic_store *store, const char *inspection_id,
                                     const char *item_id, const char *value);

/** Attach (or with NULL remove) a note to an item, answered or not. Up to 2000 bytes. */
FIC_EXTERN int fic_inspection_note(fic_store *store, const char *inspection_id,
                                   const char *item_id, const char *note);

/** What the inspector found about the site itself on the spot. */
typedef enum fic_site_finding {
	FIC_FOUND_CLOSED = 1,  /**< long out of business or closed (长期未经营/已关闭) */
	FIC_FOUND_CHANGED = 2  /**< facts differ from the registry (信息变更) */
} fic_site_finding;

/**
 * Record a site finding during an inspection: CLOSED closes the site in the
 * registry (and none of the checklist's items applies any more); CHANGED
 * updates it with `changes` (as fic_site_update). Either way a site-status
 * lead is filed as a draft, the finding appears in the inspection, and
 * finishing needs a proof photo of the inspection (no item) — then the lead
 * is submitted with it (below). One transaction.
 * @param changes the site's new facts for FIC_FOUND_CHANGED (its id must be
 *   the inspected site's); NULL for FIC_FOUND_CLOSED.
 */
FIC_EXTERN int fic_inspection_report_site(fic_store *store, const char *inspection_id,
                                          int finding, const char *reason,
                                          const fic_site *changes);

/*
 * Site findings and their proof. The guide asks for "证明影像资料" — a proof
 * photo — whenever a site is found closed (长期未经营/已关闭) or its facts
 * differ (信息变更) (实施方案 服务方法 1(3); 各专业 三(二)2). So:
 *  - an inspection with a site finding finishes only with at least one
 *    photo of the inspection that documents no single item (the gate, the
 *    new sign): fic_photo_add_*(FIC_PHOTO_INSPECTION, id, NULL, …);
 *  - a site found closed has nothing left to check: its checklist's items
 *    no longer apply, so that photo is all finishing needs;
 *  - the site-status lead is filed at once as a draft and submitted when
 *    the inspection finishes, with the proof photos' hashes in its body.
 */

/**
 * Report a site found closed, or whose facts differ from the registry,
 * outside an inspection: as fic_site_close / fic_site_update (which file
 * the same report for a county site) in one transaction with a site-status
 * lead, kept as a draft until its proof photo is attached
 * (fic_photo_add_*(FIC_PHOTO_LEAD, lead id, …)) and it is submitted
 * (fic_lead_submit refuses it before: FIC_EINCOMPLETE).
 * @param lead_id_out receives the draft lead's id (FIC_UUID_BUFSIZE bytes).
 * @param changes the site's new facts for FIC_FOUND_CHANGED (its id must be
 *   `site_id`); NULL for FIC_FOUND_CLOSED.
 * @return FIC_OK; FIC_EINVAL (NULL, finding unknown, changes missing or for
 *   another site, or changes that change nothing); FIC_ENOTFOUND;
 *   FIC_ESTATE (already closed); as fic_site_update.
 */
FIC_EXTERN int fic_site_report(char *lead_id_out, fic_store *store, const char *site_id,
                               int finding, const char *reason, const fic_site *changes);

/**
 * The state of an inspection as JSON, for showing live: which items apply,
 * their answers and notes, which are abnormal (with the reason in words),
 * which required items are still unanswered and which abnormal items still
 * need a photo. Free with fic_free().
 * Schema: schema/api/inspection.schema.json.
 */
FIC_EXTERN int fic_inspection_get_json(char **out, fic_store *store, const char *inspection_id);

/**
 * Finish: refuses (FIC_EINCOMPLETE, listing them) while an applicable
 * required item is unanswered or an abnormal item that needs a photo has
 * none. Otherwise stores the findings, freezes the answers and files the
 * leads: each finding subject to a two-hour rule becomes its own urgent lead;
 * all other findings of the inspection form one lead. One transaction.
 * @param summary_out optional: receives JSON {"findings": n, "leads": [ids],
 *   "urgent_leads": [ids]}: every lead of the inspection, urgent first —
 *   including the urgent leads filed while it was answered (an answer that
 *   makes a two-hour finding files its lead at once) — and which of them are
 *   urgent. Schema: schema/api/inspection_summary.schema.json.
 */
FIC_EXTERN int fic_inspection_finish(char **summary_out, fic_store *store,
                                     const char *inspection_id);

/** Output formats of fic_inspection_opinion(). */
#define FIC_OPINION_TEXT 1
#define FIC_OPINION_JSON 2

/**
 * The inspection opinion (巡查意见, 服务方法 1(4)) of a finished inspection:
 * the site, date, inspector, and each finding with its guide section and
 * legal basis, as printable text or JSON. Free with fic_free().
 * Schema of the JSON: schema/api/opinion.schema.json.
 */
FIC_EXTERN int fic_inspection_opinion(char **out, fic_store *store, const char *inspection_id,
                                      int format);

#ifdef __cplusplus
}
#endif

#endif
