/*
 * core/store/time.c — trusted time (see evidence.h).
 *
 * At a contact the store keeps: the server's time S0, the device wall clock
 * W0, the monotonic clock M0, the boot id B0 and the round trip. Later, in
 * the same boot, trusted = S0 + rtt/2 + (M − M0) (the server read its clock
 * within the round trip; the middle is the best guess): the monotonic clock cannot be set
 * by the user and keeps counting in sleep. Its uncertainty is half the round
 * trip plus 200 ppm of the elapsed time (crystal drift). If the wall clock's
 * own elapsed time (W − W0) differs from the monotonic one by more than a
 * minute, the user (or the network) changed the clock: the reading is
 * flagged, and so is every record made with it. After a reboot monotonic
 * time restarts: trusted = W + (S0 − W0), flagged as unverified, with an
 * uncertainty that grows with the wall-clock time since the contact.
 */
#include "db.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLOCK_CHANGE_TOLERANCE_MS 60000
#define DRIFT_DIVISOR 5000 /* 200 ppm */

static int read_state(fic_store *store, const char *key, char *buf, size_t size)
{
	int rc = fic__query_text(store, buf, size, "SELECT value FROM sync_state WHERE key = ?1",
	                         "reading the clock state", "t", key);
	return rc == FIC_ENOTFOUND ? FIC_OK : rc;
}

int fic__time_now(fic_store *store, fic_time *t)
{
	const fic_platform *p = store->platform;
	memset(t, 0, sizeof *t);
	t->device_ms = p->wall_ms(p->ctx);
	t->mono_ms = p->monotonic_ms(p->ctx);
	snprintf(t->boot_id, sizeof t->boot_id, "%s", store->boot_id);
	char v[160];
	int rc = read_state(store, "time.contact", v, sizeof v);
	if (rc != FIC_OK)
		return rc;
	long long s0, w0, m0, rtt;
	char b0[FIC_BOOT_ID_MAX];
	if (!v[0] || sscanf(v, "%lld %lld %lld %lld %63s", &s0, &w0, &m0, &rtt, b0) != 5) {
		t->trusted_ms = t->device_ms;
		t->uncertainty_ms = -1; /* unknown */
		t->flags = FIC_TIME_NO_CONTACT;
		return FIC_OK;
	}
	int64_t half = rtt / 2;
	if (strcmp(b0, t->boot_id) == 0 && t->mono_ms >= m0) {
		int64_t elapsed = t->mono_ms - m0;
		/* The server read its clock somewhere within the round trip: take the middle. */
		t->trusted_ms = s0 + half + elapsed;
		t->uncertainty_ms = half + elapsed / DRIFT_DIVISOR;
		int64_t wall_elapsed = t->device_ms - w0;
		if (llabs((long long)(wall_elapsed - elapsed)) > CLOCK_CHANGE_TOLERANCE_MS)
			t->flags |= FIC_TIME_CLOCK_CHANGED;
	} else {
		int64_t since = llabs((long long)(t->device_ms - w0));
		t->trusted_ms = t->device_ms + (s0 + half - w0);
		t->uncertainty_ms = half + since / DRIFT_DIVISOR;
		t->flags |= FIC_TIME_OTHER_BOOT;
	}
	return FIC_OK;
}

int fic_time_now(fic_time *out, fic_store *store)
{
	fic__err_clear();
	if (out == NULL || store == NULL)
		return fic__err(FIC_EINVAL, "out and store are required");
	static const size_t sizes[] = { sizeof(fic_time) };
	fic_time t;
	int rc = fic__time_now(store, &t);
	t.version = FIC_TIME_VERSION;
	if (rc == FIC_OK)
		rc = fic__struct_out(out, &t, sizes, 1, "time reading");
	return rc;
}

int fic_time_contact(fic_store *store, int64_t server_ms, int64_t rtt_ms)
{
	fic__err_clear();
	FIC__ARG(store);
	if (server_ms < 946684800000LL || server_ms > 32503680000000LL || rtt_ms < 0 ||
	    rtt_ms > 600000)
		return fic__err(FIC_EINVAL, "server time must be after 2000 and the round trip 0..600 s");
	const fic_platform *p = store->platform;
	char v[160];
	snprintf(v, sizeof v, "%lld %lld %lld %lld %s", (long long)server_ms,
	         (long long)p->wall_ms(p->ctx), (long long)p->monotonic_ms(p->ctx), (long long)rtt_ms,
	         store->boot_id[0] ? store->boot_id : "unknown");
	int rc = fic__tx_begin(store);
	if (rc != FIC_OK)
		return rc;
	rc = fic__exec(store, "INSERT INTO sync_state (key, value) VALUES ('time.contact', ?1) "
	                      "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	               "recording the server's time", "t", v);
	return fic__tx_end(store, rc);
}

/* Bind a reading into six consecutive parameters starting at `i`. */
void fic__time_bind(sqlite3_stmt *st, int i, const fic_time *t)
{
	sqlite3_bind_int64(st, i, t->device_ms);
	sqlite3_bind_int64(st, i + 1, t->mono_ms);
	sqlite3_bind_text(st, i + 2, t->boot_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, i + 3, t->trusted_ms);
	if (t->uncertainty_ms >= 0)
		sqlite3_bind_int64(st, i + 4, t->uncertainty_ms);
	else
		sqlite3_bind_null(st, i + 4);
	sqlite3_bind_int(st, i + 5, t->flags);
}

/*
 * The deadline a lead should have, given what is known now. A lead filed
 * before any contact with the server got its deadline from the unverified
 * device clock; once a contact exists in the same boot, its moment of filing
 * can be placed on server time through the monotonic clock, and the deadline
 * moves with it. (The stored, chained deadline is not changed.)
 */
int64_t fic__effective_deadline(fic_store *store, int64_t stored_deadline, int t_flags,
                                const char *t_boot_id, int64_t t_mono_ms, int64_t t_device_ms,
                                int64_t discovered_at_ms, int64_t grace_ms)
{
	if (!(t_flags & FIC_TIME_NO_CONTACT) || t_boot_id == NULL)
		return stored_deadline;
	char v[160];
	long long s0, w0, m0, rtt;
	char b0[FIC_BOOT_ID_MAX];
	if (read_state(store, "time.contact", v, sizeof v) != FIC_OK || !v[0] ||
	    sscanf(v, "%lld %lld %lld %lld %63s", &s0, &w0, &m0, &rtt, b0) != 5 ||
	    strcmp(b0, t_boot_id) != 0) {
		fic__err_clear();
		return stored_deadline;
	}
	int64_t filed_trusted = s0 + rtt / 2 + (t_mono_ms - m0);
	return filed_trusted - (t_device_ms - discovered_at_ms) + grace_ms;
}
