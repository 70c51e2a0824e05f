/*
 * core/store/journal.c — the two records every user change leaves behind, written
 * in the change's own transaction: an append-only audit entry (who, what,
 * when — device time, monotonic time and boot id) and an outbox record the
 * sync engine will upload. Also reading the audit log back.
 */
#include "db.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <string.h>

int fic__audit_append(fic_store *store, const char *action, const char *entity,
                      const char *entity_id, const char *detail_json)
{
	sqlite3_stmt *st;
	int rc = fic__cached(store, &st,
	                     "INSERT INTO audit (at_ms, mono_ms, boot_id, actor, action, entity, "
	                      "entity_id, detail, trusted_ms, time_flags) VALUES (?1, ?2, ?3, ?4, ?5, "
	                      "?6, ?7, ?8, ?9, ?10)");
	if (rc != FIC_OK)
		return rc;
	fic_time t;
	if ((rc = fic__time_now(store, &t)) != FIC_OK) {
		fic__release(store, st);
		return rc;
	}
	sqlite3_bind_int64(st, 1, t.device_ms);
	sqlite3_bind_int64(st, 2, t.mono_ms);
	sqlite3_bind_int64(st, 9, t.trusted_ms);
	sqlite3_bind_int(st, 10, t.flags);
	sqlite3_bind_text(st, 3, store->boot_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, store->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, entity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, entity_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, detail_json, -1, SQLITE_STATIC);
	int src = sqlite3_step(st);
	int code = src == SQLITE_DONE ? FIC_OK : fic__db_err(store, src, "writing the audit log");
	fic__release(store, st);
	return code;
}

int fic__audit_take(fic_store *store, const char *action, const char *entity,
                    const char *entity_id, cJSON *detail, bool built)
{
	char *text = built && detail ? cJSON_PrintUnformatted(detail) : NULL;
	cJSON_Delete(detail);
	if (text == NULL)
		return fic__err(FIC_ENOMEM, "out of memory writing the audit log");
	int rc = fic__audit_append(store, action, entity, entity_id, text);
	cJSON_free(text);
	return rc;
}

int fic__outbox_enqueue(fic_store *store, const char *record_type, const char *record_id,
                        const char *op, fic__priority priority, const char *payload_json)
{
	return fic__exec(store, "INSERT INTO outbox (record_type, record_id, op, priority, payload, "
	                        "created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	                 "queueing for upload", "tttiti", record_type, record_id, op,
	                 (int64_t)priority, payload_json, fic__now_ms(store));
}

const fic_audit_entry *fic_audit_list_at(const fic_audit_list *list, size_t i)
{
	return list && i < list->count ? &list->entries[i] : NULL;
}

void fic_audit_list_free(fic_audit_list *list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < list->count; i++) {
		fic__free((char *)list->entries[i].actor);
		fic__free((char *)list->entries[i].action);
		fic__free((char *)list->entries[i].entity);
		fic__free((char *)list->entries[i].entity_id);
		fic__free((char *)list->entries[i].detail);
	}
	fic__free(list->entries);
	fic__free(list);
}

static char *dup_col(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return fic__strdup(t ? (const char *)t : "");
}

int fic_audit_list_get(fic_audit_list **out, fic_store *store, const char *entity_id,
                       size_t limit)
{
	FIC__BEGIN(out, store);
	int rc = fic__check_text(entity_id, "entity id", 64, false, NULL);
	if (rc != FIC_OK)
		return rc;
	sqlite3_stmt *st;
	rc = fic__prepare(store, &st,
	                  "SELECT seq, at_ms, actor, action, entity, entity_id, detail FROM ("
	                  " SELECT * FROM audit WHERE ?1 IS NULL OR entity_id = ?1"
	                  " ORDER BY seq DESC LIMIT ?2) ORDER BY seq");
	if (rc != FIC_OK)
		return rc;
	if (entity_id && entity_id[0])
		sqlite3_bind_text(st, 1, entity_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, limit == 0 || limit > INT64_MAX ? -1 : (int64_t)limit);

	fic_audit_list *list = fic__calloc(1, sizeof *list);
	size_t cap = 0;
	if (list)
		list->entry_size = sizeof(fic_audit_entry);
	int src = SQLITE_OK;
	if (list == NULL) {
		rc = fic__err(FIC_ENOMEM, "out of memory reading the audit log");
		goto done;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		fic_audit_entry *e = FIC__GROW(list->entries, list->count, cap);
		if (e == NULL) {
			rc = fic__err(FIC_ENOMEM, "out of memory reading the audit log");
			goto done;
		}
		e->seq = sqlite3_column_int64(st, 0);
		e->at_ms = sqlite3_column_int64(st, 1);
		e->actor = dup_col(st, 2);
		e->action = dup_col(st, 3);
		e->entity = dup_col(st, 4);
		e->entity_id = dup_col(st, 5);
		e->detail = dup_col(st, 6);
		if (!e->actor || !e->action || !e->entity || !e->entity_id || !e->detail) {
			rc = fic__err(FIC_ENOMEM, "out of memory reading the audit log");
			goto done;
		}
	}
	if (src != SQLITE_DONE)
		rc = fic__db_err(store, src, "reading the audit log");
done:
	sqlite3_finalize(st);
	if (rc != FIC_OK) {
		fic_audit_list_free(list);
		return rc;
	}
	*out = list;
	return FIC_OK;
}
