/*
 * fieldinspect/sync.h — getting records to the county server
 * (docs/protocol.md).
 *
 * The core writes every change and an outbox row in one transaction; the
 * functions here read the outbox and talk to the server through a transport
 * (sys/transport.h; fic_transport_curl_new() is the built-in one). Nothing is
 * lost and nothing is duplicated: a row leaves the outbox's pending state only
 * when the server's answer names it (stored, or already stored — the same
 * receipt) or refuses it for good (kept, with the server's reason, for the
 * user to see). Everything else — no network, a reset, a timeout, a 5xx or
 * 429, a malformed answer — leaves the rows pending with a backoff, and
 * sending them again is harmless because the server is idempotent by
 * record id. A crash or kill at any point resumes where it stopped.
 *
 * Built so far (issue #5): enrolment and pushing records. Photo upload,
 * feeds and the combined pass come next.
 *
 * Thread-safety: as the store (one thread at a time per handle); the
 * `cancelled` flag may be set from any thread.
 */
#ifndef FIELDINSPECT_SYNC_H
#define FIELDINSPECT_SYNC_H

#include "common.h"
#include "store.h"
#include "sys/transport.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Progress, reported after each exchange. */
typedef struct fic_sync_progress {
	int64_t records_done;  /**< records the server has answered for in this pass */
	int64_t records_total; /**< records that were due when the pass started, plus any added */
	int64_t bytes_sent;    /**< request bodies sent in this pass */
	int urgent_pending;    /**< urgent lead records not yet acknowledged */
} fic_sync_progress;

typedef struct fic_sync_options {
	/** Required: how to reach the server (the caller keeps ownership). */
	fic_transport *transport;
	/** Required: the server's base URL, e.g. "https://wsjd.example.cn" (no /v1). */
	const char *server_url;
	/** Optional: set non-zero from any thread to stop the pass (FIC_ECANCELED). */
	volatile const int *cancelled;
	/** Optional: called after each exchange, on the syncing thread. */
	void (*progress)(void *arg, const fic_sync_progress *p);
	void *progress_arg;
	/** Non-zero: send record bodies uncompressed (they are gzipped by default). */
	int no_gzip;
	/** Per-request limits passed to the transport (0: the transport's defaults). */
	long connect_timeout_ms, low_speed_time_ms, total_timeout_ms;
} fic_sync_options;

#define FIC_SYNC_OPTIONS_INIT { NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0 }

/** What a push did. */
typedef struct fic_sync_report {
	int64_t stored;     /**< records the server stored in this pass */
	int64_t duplicates; /**< records the server already had (a lost answer, resent) */
	int64_t rejected;   /**< records refused for good (see fic_sync_rejections_get) */
	int64_t deferred;   /**< records sent but left pending after a transient failure */
	int64_t urgent_acked; /**< urgent lead records acknowledged in this pass */
	int64_t pending;    /**< outbox rows still pending at the end (some waiting for backoff) */
	int64_t next_due_ms; /**< when the earliest pending row may be sent again, or INT64_MAX */
	/** After a transient failure (FIC_ENETWORK, FIC_EPROTO): when to try again
	 * (the backoff of the records that failed, honouring Retry-After); else 0. */
	int64_t retry_at_ms;
	int64_t requests;   /**< exchanges made */
	int64_t bytes_sent; /**< request bodies, as sent (after gzip) */
	int64_t bytes_received; /**< response bodies */
} fic_sync_report;

/**
 * Enrol this device with a one-time code issued by the county. Keeps the
 * token (never logged) and the county name in the store.
 * @return FIC_OK; FIC_EAUTH if the server refused the code; FIC_EINVAL for a
 * missing option or a malformed code; FIC_ENETWORK / FIC_ETLS / FIC_EPROTO /
 * FIC_ECANCELED from the exchange; store errors.
 */
FIC_EXTERN int fic_sync_enroll(fic_store *store, const fic_sync_options *opts, const char *code,
                               const char *device_name);

/** Whether the device is enrolled; writes the county's name (may be NULL) into buf. */
FIC_EXTERN int fic_sync_enrolled(fic_store *store, char *county, size_t county_size);

/**
 * Push the outbox's due records: urgent lead records first, in a request of
 * their own, then the rest in batches (≤ 500 records, ≤ 1 MiB). The outbox
 * is read again before every request, so an urgent lead filed during a pass
 * goes next. Each answer's server time feeds the trusted time
 * (fic_time_contact). A batch the server refuses as a whole (4xx) is split
 * until the refused record is alone, and only that one is marked rejected.
 * `report` (may be NULL) is filled in either way.
 * @return FIC_OK when every due record was answered for; FIC_ENETWORK when
 * the link or the server failed (rows deferred; try again after
 * report->next_due_ms or when the network returns); FIC_EAUTH (enrol
 * again); FIC_ESTATE (not enrolled); FIC_EPROTO; FIC_ETLS; FIC_ECANCELED.
 */
FIC_EXTERN int fic_sync_push(fic_store *store, const fic_sync_options *opts,
                             fic_sync_report *report);

/** A record the server refused, with its reason for the inspector. */
typedef struct fic_sync_rejection {
	const char *record_type; /**< "lead", "inspection", "site", … */
	const char *record_id;
	const char *op;
	const char *reason; /**< the server's message */
	int64_t queued_at_ms;
} fic_sync_rejection;

typedef struct fic_sync_rejection_list {
	fic_sync_rejection *entries;
	size_t count;
} fic_sync_rejection_list;

/** The refused records, oldest first. Free with fic_sync_rejection_list_free. */
FIC_EXTERN int fic_sync_rejections_get(fic_sync_rejection_list **out, fic_store *store);
FIC_EXTERN void fic_sync_rejection_list_free(fic_sync_rejection_list *list);

#ifdef __cplusplus
}
#endif

#endif
