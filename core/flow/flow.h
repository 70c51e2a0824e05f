/*
 * core/flow/flow.h — the flow layer: the inspector's work as it unfolds.
 * Inspections (start, answer, finish, opinion), leads (filed from findings
 * and forms, always within the caller's open transaction; their lifecycle
 * driven by the server's answers), plans and tasks (the due list, the
 * indicators, re-inspection tasks), and the verification of the store's
 * evidence (verify.c).
 *
 * The top of the core: depends on model, store and util; only sync and the
 * public API's callers are above it.
 */
#ifndef FIC_CORE_FLOW_H
#define FIC_CORE_FLOW_H

#include "model/model.h"

#include <cjson/cJSON.h>

typedef struct fic__lead_spec {
	const char *category;
	const char *area;
	const char *title;
	const char *report_to;
	int urgency;              /* FIC_URGENCY_*: none, two hours, immediately */
	bool time_sensitive;
	const char *form_id;      /* or NULL */
	int form_version;
	const char *site_id;      /* or NULL */
	const char *inspection_id;/* or NULL */
	int64_t discovered_at_ms;
	const cJSON *content;     /* the lead's body */
	const char *corrects;     /* the lead this one corrects, or NULL */
	bool submit;              /* submit now (hash, chain, queue); else a draft */
} fic__lead_spec;

/* Insert a lead (+ audit, a re-inspection task if time-sensitive, and when
 * spec->submit its submission: canonical hash, chain entry, outbox record). */
int fic__lead_insert(char *id_out, fic_store *store, const fic__lead_spec *spec);

/* Submit a draft inside the caller's transaction. */
int fic__lead_submit_tx(fic_store *store, const char *lead_id);

/* The lead as its canonical record (without the chain fields), from its rows. */
int fic__lead_record(fic_store *store, const char *lead_id, cJSON **out);
/* A finished inspection as its canonical record, without the chain fields (inspection.c). */
int fic__inspection_record(fic_store *store, const char *inspection_id, cJSON **out);

/* A task (plan.c), inside the caller's transaction: a re-inspection of
 * `site_id` due on `due_date` (local YYYY-MM-DD), from a lead or the agency. */
int fic__task_add(fic_store *store, const char *kind, const char *site_id, const char *lead_id,
                  const char *source, const char *due_date, const char *detail);

/* Inside the caller's transaction: a finished inspection completes the open
 * re-inspection tasks it fulfils (plan.c): with checklist medical.reinspection,
 * those of its site, or the one task (or the tasks of the lead) its
 * `original_lead` answer names. */
int fic__tasks_complete_by(fic_store *store, const char *inspection_id, const char *site_id,
                           const char *checklist_id, const char *original_lead);

/* The county's (or the device's) patrol plan, inside the caller's
 * transaction (plan.c): validate it, set the areas and the kinds each
 * patrols and how often, and move every site's areas to match. `origin`
 * "county" (the settings feed) or "device". */
int fic__patrol_plan_apply(fic_store *store, const char *json, const char *origin);

/* A place-code scan (scan.c) starts the inspection `inspection_id` of
 * `site_id` with checklist `def` on `day`, inside the caller's transaction:
 * the scan must be of that site and not have started another visit; the
 * facts the scanned code carried, where they differ from the registry,
 * answer the checklist's licence-match items "no" (实际信息与许可证一致). */
int fic__scan_start_visit(fic_store *store, const char *scan_id, const char *inspection_id,
                          const char *site_id, const fic__def *def, int64_t day);

/* A scan as its canonical record (scan.c), without the chain fields. */
int fic__scan_record(fic_store *store, const char *scan_id, cJSON **out);

/* Records (records.c), inside the caller's transaction: a water supply's
 * verdict from a test dated `tested_on` (the latest test decides); the
 * verdict of a finished field test, *flagged when the county publishes the
 * site blue while it failed; a laboratory result for a sample (the county's
 * lab_results feed and fic_sample_result_set). */
int fic__water_verdict(fic_store *store, const char *site_id, bool passed, const char *source,
                       const char *tested_on, const char *ref_id);
int fic__water_status_from_test(fic_store *store, const char *site_id, const char *inspection_id,
                                const char *date, bool failed, bool *flagged);
int fic__sample_result_tx(fic_store *store, const char *sample_no, bool passed,
                          const char *reported_on, const char *detail);

/* What the server answered for a queued lead's record, inside the caller's
 * transaction (the sync engine's, with the outbox row's own update):
 * "delivered" with the server's receipt id and time, or "rejected" with its
 * reason. A lead already delivered (confirmed by SMS first) stays as it is
 * and FIC_OK is returned: an answer never moves a lead back. FIC_ESTATE if
 * the lead is neither queued nor delivered (a draft). */
int fic__lead_mark(fic_store *store, const char *lead_id, const char *state,
                   const char *receipt_id, int64_t receipt_at_ms, const char *reason);

/* The county confirmed an urgent lead received by SMS (sync/sms.c), inside
 * the caller's transaction: a queued (or refused-by-data) urgent lead
 * becomes delivered with the county's receipt id and time. FIC_OK and
 * nothing changed if it is delivered already; FIC_ESTATE for a draft or a
 * lead that is not urgent; FIC_ENOTFOUND. */
int fic__lead_deliver_sms(fic_store *store, const char *lead_id, const char *receipt_id,
                          int64_t receipt_at_ms);

/* A site-status lead (registry.c), as a draft in the caller's transaction:
 * `finding` FIC_FOUND_CLOSED or _CHANGED with the reason; the site's facts
 * `after` the change (and `before` it, for a change); from an inspection or
 * not. Submitted only with its proof photo (fic__lead_proof_check). */
int fic__site_status_lead(char *id_out, fic_store *store, const char *site_id,
                          const char *inspection_id, int finding, const char *reason,
                          const cJSON *before, const cJSON *after);

/* A site-status lead's proof photos (拍摄证明照片, 服务方法 1(3)): its own,
 * and its inspection's that document no single item. FIC_EINCOMPLETE when
 * there is none; other leads pass. */
int fic__lead_proof_check(fic_store *store, const char *lead_id);

/* Photos (SHA-256 hex, sorted) documenting an owner, as a JSON array. */
cJSON *fic__photo_hashes(fic_store *store, const char *owner_type, const char *owner_id);

/* A patrol-finding lead for `findings` (array); appends its id to `lead_ids`. */
int fic__lead_from_findings(cJSON *lead_ids, fic_store *store, const cJSON *site_facts,
                            const char *site_id, const char *inspection_id,
                            const char *checklist_id, int version, const char *area,
                            const char *site_name, const char *checklist_title,
                            const cJSON *findings, int urgency, bool time_sensitive,
                            int64_t now);

/* The time to report a lead of `urgency` after its discovery (2 h, or 0 for immediately). */
int64_t fic__urgency_grace_ms(int urgency);

#endif
