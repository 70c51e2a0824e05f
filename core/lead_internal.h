/*
 * core/lead_internal.h — filing leads from inside the core (inspections,
 * site findings, forms), always within the caller's open transaction.
 */
#ifndef FIC_CORE_LEAD_INTERNAL_H
#define FIC_CORE_LEAD_INTERNAL_H

#include "internal.h"

#include <cjson/cJSON.h>

typedef struct fic__lead_spec {
	const char *category;
	const char *area;
	const char *title;
	const char *report_to;
	bool urgent;
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

/* Outbox priorities: urgent leads first, then other records. */
#define FIC_PRIORITY_URGENT 100
#define FIC_PRIORITY_LEAD 20
/* A photo's metadata record: ordinary, or just after the urgent leads when its
 * lead is urgent (set at submission; the photo file then goes first too). */
#define FIC_PRIORITY_PHOTO 5
#define FIC_PRIORITY_URGENT_PHOTO 99
/* uploads.priority of an urgent lead's photo file. */
#define FIC_UPLOAD_URGENT 100

/* Insert a lead (+ audit, a re-inspection task if time-sensitive, and when
 * spec->submit its submission: canonical hash, chain entry, outbox record). */
int fic__lead_insert(char *id_out, fic_store *store, const fic__lead_spec *spec);

/* Submit a draft inside the caller's transaction. */
int fic__lead_submit_tx(fic_store *store, const char *lead_id);

/* The lead as its canonical record (without the chain fields), from its rows. */
int fic__lead_record(fic_store *store, const char *lead_id, cJSON **out);

/* What the server answered for a queued lead's record, inside the caller's
 * transaction (the sync engine's, with the outbox row's own update):
 * "delivered" with the server's receipt id and time, or "rejected" with its
 * reason. FIC_ESTATE if the lead is not queued. */
int fic__lead_mark(fic_store *store, const char *lead_id, const char *state,
                   const char *receipt_id, int64_t receipt_at_ms, const char *reason);

/* Photos (SHA-256 hex, sorted) documenting an owner, as a JSON array. */
cJSON *fic__photo_hashes(fic_store *store, const char *owner_type, const char *owner_id);

/* A patrol-finding lead for `findings` (array); appends its id to `lead_ids`. */
int fic__lead_from_findings(cJSON *lead_ids, fic_store *store, const cJSON *site_facts,
                            const char *site_id, const char *inspection_id,
                            const char *checklist_id, int version, const char *area,
                            const char *site_name, const char *checklist_title,
                            const cJSON *findings, bool urgent, int64_t now);

#endif
