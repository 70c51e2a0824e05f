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
 * A sync pass (fic_sync_run) pushes — urgent lead records, other records,
 * then photo files, an urgent lead's first, in small resumable chunks with
 * the records checked again between chunks — and then pulls the county's
 * checklists, site registry and tasks.
 *
 * Thread-safety: as the store (one thread at a time per handle); the
 * `cancel` flag (fic_cancel, common.h) may be raised from any thread. A pass
 * through a transport that declares FIC_TRANSPORT_CONCURRENT also calls its
 * `request` from two threads of the library's own (the photo lanes), joined
 * before the pass returns; everything else, the progress callback included,
 * happens on the calling thread.
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

#define FIC_SYNC_PROGRESS_VERSION 1

/** Progress, reported after each exchange. Made by the library; read the
 * members its `version` has (later versions append members). */
typedef struct fic_sync_progress {
	unsigned int version;  /**< FIC_SYNC_PROGRESS_VERSION of the library */
	int64_t records_done;  /**< records the server has answered for in this pass */
	int64_t records_total; /**< records that were due when the pass started, plus any added */
	int64_t bytes_sent;    /**< request bodies sent in this pass */
	int urgent_pending;    /**< urgent lead records not yet acknowledged */
	int64_t photos_done;   /**< photo files the server completed in this pass */
	int64_t photos_pending;/**< photo files still to send */
} fic_sync_progress;

#define FIC_SYNC_OPTIONS_VERSION 1

/** Options of a sync call. Initialise with FIC_SYNC_OPTIONS_INIT (any version from 1 is read). */
typedef struct fic_sync_options {
	unsigned int version; /**< FIC_SYNC_OPTIONS_VERSION */
	/** Required: how to reach the server (the caller keeps ownership). */
	fic_transport *transport;
	/** Required: the server's base URL, e.g. "https://wsjd.example.cn" (no /v1). */
	const char *server_url;
	/** Optional: raise it (fic_cancel_request) from any thread to stop the pass
	 * (FIC_ECANCELED) within a fraction of a second. Borrowed. */
	const fic_cancel *cancel;
	/** Optional: called after each exchange, on the syncing thread. */
	void (*progress)(void *arg, const fic_sync_progress *p);
	void *progress_arg;
	/** Non-zero: send record bodies uncompressed (they are gzipped by default). */
	int no_gzip;
	/** Per-request limits passed to the transport (0: the transport's defaults). */
	long connect_timeout_ms, low_speed_time_ms, total_timeout_ms;
	/**
	 * Bytes of photo per request, at most 256 KiB. 0: with lanes — the
	 * built-in transport, or one that declares FIC_TRANSPORT_CONCURRENT
	 * (sys/transport.h) — chunks start at 64 KiB and double with each that
	 * arrives, two photos at a time (the records never wait behind a chunk:
	 * they go from the syncing thread meanwhile); another transport sends
	 * 32 KiB, then looks at the records again.
	 */
	size_t photo_chunk_bytes;
} fic_sync_options;

#define FIC_SYNC_OPTIONS_INIT { FIC_SYNC_OPTIONS_VERSION, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0 }

/** Fill `opts` with the defaults of `version` (for bindings that cannot use the macro). */
FIC_EXTERN int fic_sync_options_init(fic_sync_options *opts, unsigned int version);

#define FIC_SYNC_REPORT_VERSION 1

/**
 * What a pass did. The library fills it: set `version` first
 * (FIC_SYNC_REPORT_INIT); members of a later version than the caller's are
 * not written (common.h, ABI rules).
 */
typedef struct fic_sync_report {
	unsigned int version; /**< in: the caller's FIC_SYNC_REPORT_VERSION; out: the version filled */
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
	int64_t bytes_received; /**< response bodies, as received (gzip'd feed pages before inflating) */
	int64_t audit_sent;     /**< audit log entries the server acknowledged */
	int64_t photos_sent;    /**< photo files the server now holds whole (sent or found there) */
	int64_t photo_bytes_sent; /**< photo bytes the server accepted in this pass */
	int64_t photos_rejected;  /**< photo files refused (listed by fic_sync_rejections_get) */
	int64_t photos_pending;   /**< photo files still to send at the end */
	int64_t pulled;           /**< feed items applied (checklists, sites, tasks) */
	int64_t pull_skipped;     /**< feed items with nothing to do (an older checklist, a
	                               site with the inspector's change still on its way) */
	int64_t pull_invalid;     /**< feed items that did not validate (skipped, logged) */
	int64_t set_aside;        /**< outbox records and audit entries that could not be read
	                               (damaged on disk, or written by an older version): kept,
	                               listed by fic_sync_rejections_get, never sent; the rest of
	                               the pass goes on */
} fic_sync_report;

#define FIC_SYNC_REPORT_INIT { FIC_SYNC_REPORT_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, \
	0, 0, 0, 0, 0, 0, 0, 0 }

/**
 * Enrol this device with a one-time code issued by the county. Keeps the
 * token (never logged) through the platform's secret hook (sys/platform.h:
 * a 0600 file beside the store by default, the Android Keystore in the
 * app), never in the database; the county name and the server's URL in the
 * store — the token is sent to that server only (a push or pull given
 * another URL is FIC_ESTATE before any request); and pins the county's
 * public key if the answer has one: a lead's personal answers (informants,
 * patients) are sealed to it at submission (lead.h). An answer with another
 * key than the one already pinned is refused (FIC_ESTATE, nothing changed):
 * to accept a county's new key, fic_sync_unenroll() first.
 * @return FIC_OK; FIC_EAUTH if the server refused the code; FIC_EINVAL for a
 * missing option or a malformed code; FIC_ESTATE (another county key);
 * FIC_ENETWORK / FIC_ETLS / FIC_EPROTO / FIC_ECANCELED from the exchange;
 * FIC_EIO (the secret could not be saved); store errors.
 */
FIC_EXTERN int fic_sync_enroll(fic_store *store, const fic_sync_options *opts, const char *code,
                               const char *device_name);

/** Whether the device is enrolled; writes the county's name (may be NULL) into buf. */
FIC_EXTERN int fic_sync_enrolled(fic_store *store, char *county, size_t county_size);

/**
 * Leave the county on purpose: forget the token (its secret deleted), the
 * county, the server's URL and the pinned county key, with an audit entry.
 * Records still queued stay queued (a lead already submitted stays sealed
 * to the old key, which the county keeps to open it) and go to whichever
 * server the device enrols with next. This is the only way a device
 * accepts another county key, so that neither a changed enrolment answer
 * nor another server can make it seal informants' details to a key the
 * county does not hold.
 * @return FIC_OK (also when not enrolled); FIC_EIO (the secret could not be
 * deleted: nothing changed); store errors.
 */
FIC_EXTERN int fic_sync_unenroll(fic_store *store);

/**
 * Push the outbox's due records: urgent lead records first, in a request of
 * their own, then the rest in batches (≤ 500 records, ≤ 1 MiB); then the
 * audit log's new entries (as "audit" records); then the photo files, an urgent lead's first, each resumed at the server's offset
 * and sent in chunks (see photo_chunk_bytes; the built-in transport sends two
 * photos at a time, each on a connection of its own). The outbox is read
 * again before every request, and at least every 50 ms while chunks are on
 * their way, so an urgent lead filed during a pass goes next. Each answer's server time feeds the trusted time
 * (fic_time_contact). A batch the server refuses as a whole (4xx) is split
 * until the refused record is alone, and only that one is marked rejected.
 * At the end, however the pass went, the records the server acknowledged
 * more than "outbox_retention_days" ago (setting, default 7) are deleted
 * with their payloads, leaving a tombstone (docs/architecture.md,
 * "Retention"). `report` (may be NULL; else its
 * version set) is filled in either way.
 * @return FIC_OK when every due record was answered for; FIC_ENETWORK when
 * the link or the server failed (rows deferred; try again after
 * report->next_due_ms or when the network returns); FIC_EAUTH (enrol
 * again); FIC_ESTATE (not enrolled, or opts->server_url is not the server
 * it enrolled with: nothing sent); FIC_EPROTO; FIC_ETLS; FIC_ECANCELED.
 */
FIC_EXTERN int fic_sync_push(fic_store *store, const fic_sync_options *opts,
                             fic_sync_report *report);

/**
 * Pull the county's feeds: checklist definitions (newer versions only), the
 * site registry (本底; a site whose own change is still on its way keeps the
 * inspector's version until the county has seen it) and re-inspection tasks.
 * Each page is applied in one transaction with its cursor, so an
 * interrupted pull resumes where it stopped.
 * @return FIC_OK; FIC_ESTATE (not enrolled, or another server than the
 * enrolled one: nothing sent); FIC_EAUTH; FIC_ENETWORK;
 * FIC_EPROTO (an answer that is not a feed page: nothing applied);
 * FIC_ETLS; FIC_ECANCELED; store errors.
 */
FIC_EXTERN int fic_sync_pull(fic_store *store, const fic_sync_options *opts,
                             fic_sync_report *report);

/**
 * One sync pass: push (records, then photos), then pull. The pull runs only
 * when the push reached the server (a push that ended for want of a
 * network would fail the pull the same way). Returns the push's error if it
 * had one, else the pull's.
 */
FIC_EXTERN int fic_sync_run(fic_store *store, const fic_sync_options *opts,
                            fic_sync_report *report);

/**
 * Tell the engine the network came back (`available` non-zero) or went.
 * When it comes back, everything waiting out a backoff from a transient
 * failure becomes due at once (the failures were the network's, not the
 * server's), so the next pass sends immediately; call fic_sync_run after it.
 * Thread-safety: as the store (call it on the thread that owns the handle,
 * e.g. post it from Android's ConnectivityManager callback).
 */
FIC_EXTERN int fic_sync_network_changed(fic_store *store, int available);

/** A record the server refused, with its reason for the inspector. */
typedef struct fic_sync_rejection {
	const char *record_type; /**< "lead", "inspection", "site", "photo", …; "photo_file" for a
	                              photo's bytes (record_id is then the rendition's SHA-256) */
	const char *record_id;
	const char *op;
	const char *reason; /**< the server's message */
	int64_t queued_at_ms;
} fic_sync_rejection;

/** Walk it with fic_sync_rejection_list_at() (an entry may grow in a later version). */
typedef struct fic_sync_rejection_list {
	fic_sync_rejection *entries;
	size_t count;
	size_t entry_size; /**< sizeof (fic_sync_rejection) in the library that made the list */
} fic_sync_rejection_list;

/** Entry `i`, or NULL when out of range (or list NULL). */
FIC_EXTERN const fic_sync_rejection *fic_sync_rejection_list_at(const fic_sync_rejection_list *list,
                                                               size_t i);

/** The refused records, oldest first. Free with fic_sync_rejection_list_free. */
FIC_EXTERN int fic_sync_rejections_get(fic_sync_rejection_list **out, fic_store *store);
FIC_EXTERN void fic_sync_rejection_list_free(fic_sync_rejection_list *list);

#ifdef __cplusplus
}
#endif

#endif
