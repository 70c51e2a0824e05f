/*
 * core/model/checklist.c — the registry of checklist definitions and its public
 * API: list, get, install.
 *
 * Built-in definitions are parsed from the embedded JSON the first time a
 * store needs a checklist; installed ones come from the `checklists` table.
 * When an inspection starts, the exact version it uses is copied into that
 * table, so the inspection can always be re-read and re-judged even after a
 * later library ships a newer built-in version.
 */
#include "model.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fic__registry_free(struct fic__registry *reg)
{
	if (reg == NULL)
		return;
	for (size_t i = 0; i < reg->count; i++)
		fic__def_free(reg->entries[i].def);
	fic__free(reg->entries);
	fic__free(reg);
}

static int reg_add(struct fic__registry *reg, fic__def *def, const char *json, size_t len,
                   bool builtin)
{
	fic__entry *e = FIC__GROW(reg->entries, reg->count, reg->cap);
	if (e == NULL) {
		fic__def_free(def);
		return fic__err(FIC_ENOMEM, "out of memory loading checklists");
	}
	e->def = def;
	e->builtin_json = json;
	e->builtin_len = len;
	e->builtin = builtin;
	return FIC_OK;
}

static fic__entry *reg_lookup(struct fic__registry *reg, const char *id, int version)
{
	fic__entry *best = NULL;
	for (size_t i = 0; i < reg->count; i++) {
		fic__entry *e = &reg->entries[i];
		if (strcmp(e->def->id, id) != 0)
			continue;
		if (version ? e->def->version == version : (!best || e->def->version > best->def->version))
			best = e;
	}
	return best;
}

/* Load one stored definition row into the registry (if not already there). */
static int load_row(fic_store *store, struct fic__registry *reg, sqlite3_stmt *st)
{
	const char *id = (const char *)sqlite3_column_text(st, 0);
	int version = sqlite3_column_int(st, 1);
	if (id == NULL || reg_lookup(reg, id, version))
		return FIC_OK;
	fic__def *def;
	const char *json = (const char *)sqlite3_column_text(st, 2);
	const char *origin = (const char *)sqlite3_column_text(st, 3);
	int rc = fic__def_parse(&def, json, (size_t)sqlite3_column_bytes(st, 2));
	if (rc != FIC_OK) {
		if (rc == FIC_ENOMEM)
			return rc;
		fic__log(store, FIC_LOG_ERROR, "stored checklist %s v%d no longer loads", id, version);
		return fic__err(FIC_ECORRUPT, "stored checklist %s version %d is damaged", id, version);
	}
	return reg_add(reg, def, NULL, 0, origin && strcmp(origin, "builtin") == 0);
}

/* Load rows of the table not yet in memory: `sql` selects id, version, definition, origin. */
static int load_rows(fic_store *store, struct fic__registry *reg, const char *sql, const char *id,
                     int version)
{
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st, sql);
	if (rc != FIC_OK)
		return rc;
	if (id)
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, version);
	int src = SQLITE_DONE;
	while (rc == FIC_OK && (src = sqlite3_step(st)) == SQLITE_ROW)
		rc = load_row(store, reg, st);
	if (rc == FIC_OK && src != SQLITE_DONE)
		rc = fic__db_err(store, src, "reading checklists");
	sqlite3_finalize(st);
	return rc;
}

static int registry(fic_store *store, struct fic__registry **out)
{
	if (store->registry) {
		*out = store->registry;
		return FIC_OK;
	}
	struct fic__registry *reg = fic__calloc(1, sizeof *reg);
	if (reg == NULL)
		return fic__err(FIC_ENOMEM, "out of memory loading checklists");
	/* What the store holds first: a stored version is exactly what old inspections used. */
	int rc = load_rows(store, reg, "SELECT id, version, definition, origin FROM checklists", NULL, 0);
	for (size_t i = 0; rc == FIC_OK && i < fic__builtin_checklists_count; i++) {
		const fic__builtin *b = &fic__builtin_checklists[i];
		fic__def *def;
		rc = fic__def_parse(&def, b->json, b->len);
		if (rc == FIC_OK) {
			fic__entry *have = reg_lookup(reg, def->id, def->version);
			if (have) { /* stored already: keep the stored text, note it ships built in */
				have->builtin = true;
				fic__def_free(def);
			} else {
				rc = reg_add(reg, def, b->json, b->len, true);
			}
		} else if (rc != FIC_ENOMEM) { /* CI validates these; reaching this is a build defect */
			fic__log(store, FIC_LOG_ERROR, "built-in checklist %s: %s", b->name,
			         fic_error_last()->message);
		}
	}
	if (rc != FIC_OK) {
		fic__registry_free(reg);
		return rc;
	}
	store->registry = reg;
	store->registry_free = fic__registry_free;
	*out = reg;
	return FIC_OK;
}

int fic__checklist_find(const fic__entry **out, fic_store *store, const char *id, int version)
{
	*out = NULL;
	struct fic__registry *reg;
	int rc = registry(store, &reg);
	if (rc != FIC_OK)
		return rc;
	/* Another handle may have installed (or used) versions since we loaded. */
	fic__entry *e = reg_lookup(reg, id, version);
	if (e == NULL || version == 0) {
		rc = load_rows(store, reg, "SELECT id, version, definition, origin FROM checklists "
		                           "WHERE id = ?1 AND version > ?2", id, e ? e->def->version : 0);
		if (rc != FIC_OK)
			return rc;
		e = reg_lookup(reg, id, version);
	}
	if (e == NULL)
		return version ? fic__err(FIC_ENOTFOUND, "no checklist %s version %d", id, version)
			       : fic__err(FIC_ENOTFOUND, "no checklist %s", id);
	*out = e;
	return FIC_OK;
}

int fic__checklist_persist(fic_store *store, const fic__entry *e)
{
	if (e->builtin_json == NULL)
		return FIC_OK; /* installed or loaded from the table: already there */
	sqlite3_stmt *st;
	int rc = fic__cached(store, &st,
	                     "INSERT OR IGNORE INTO checklists (id, version, origin, definition, "
	                     "installed_at_ms) VALUES (?1, ?2, 'builtin', ?3, ?4)");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_text(st, 1, e->def->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, e->def->version);
	sqlite3_bind_text(st, 3, e->builtin_json, (int)e->builtin_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, fic__now_ms(store));
	int src = sqlite3_step(st);
	rc = src == SQLITE_DONE ? FIC_OK : fic__db_err(store, src, "saving a checklist version");
	fic__release(store, st);
	return rc;
}

/* ---- public API ---- */

static bool fits_kind(const fic__def *def, int site_kind)
{
	if (site_kind == 0)
		return true;
	const char *code = fic_site_code_str(FIC_CODE_KIND, site_kind);
	const cJSON *c;
	cJSON_ArrayForEach(c, def->site_kinds) {
		if (cJSON_IsString(c) && strcmp(c->valuestring, code) == 0)
			return true;
	}
	return false;
}

const fic_checklist_info *fic_checklist_list_at(const fic_checklist_list *list, size_t i)
{
	return list && i < list->count ? &list->entries[i] : NULL;
}

void fic_checklist_list_free(fic_checklist_list *list)
{
	if (list == NULL)
		return;
	fic__free(list->entries);
	fic__free(list);
}

static int cmp_info(const void *a, const void *b)
{
	const fic_checklist_info *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	return c ? c : x->version - y->version;
}

int fic_checklist_list_get(fic_checklist_list **out, fic_store *store, int site_kind,
                           unsigned int flags)
{
	FIC__BEGIN(out, store);
	if (site_kind != 0 && fic_site_code_str(FIC_CODE_KIND, site_kind)[0] == '\0')
		return fic__err(FIC_EINVAL, "site kind %d is unknown", site_kind);
	if ((flags & (FIC_CHECKLIST_PATROLS | FIC_CHECKLIST_EVENTS)) == 0)
		flags |= FIC_CHECKLIST_PATROLS | FIC_CHECKLIST_EVENTS;
	struct fic__registry *reg;
	int rc = registry(store, &reg);
	if (rc != FIC_OK)
		return rc;
	fic_checklist_list *list = fic__calloc(1, sizeof *list);
	if (list)
		list->entry_size = sizeof(fic_checklist_info);
	if (list)
		list->entries = fic__calloc(reg->count ? reg->count : 1, sizeof *list->entries);
	if (list == NULL || list->entries == NULL) {
		fic_checklist_list_free(list);
		return fic__err(FIC_ENOMEM, "out of memory listing checklists");
	}
	for (size_t i = 0; i < reg->count; i++) {
		const fic__def *d = reg->entries[i].def;
		if (!(flags & (d->is_event ? FIC_CHECKLIST_EVENTS : FIC_CHECKLIST_PATROLS)))
			continue;
		if (!(flags & FIC_CHECKLIST_ALL_VERSIONS) && reg_lookup(reg, d->id, 0)->def != d)
			continue;
		if (site_kind && !fits_kind(d, site_kind))
			continue;
		/* The same version may be both built in and stored: list it once. */
		bool dup = false;
		for (size_t k = 0; k < list->count; k++)
			dup |= strcmp(list->entries[k].id, d->id) == 0 &&
			       list->entries[k].version == d->version;
		if (dup)
			continue;
		fic_checklist_info *e = &list->entries[list->count++];
		e->id = d->id;
		e->version = d->version;
		e->is_event = d->is_event;
		e->area = d->area;
		e->title_zh = d->title_zh;
		e->title_en = d->title_en;
		e->builtin = reg->entries[i].builtin;
		e->items = (int)d->nitems;
	}
	qsort(list->entries, list->count, sizeof *list->entries, cmp_info);
	*out = list;
	return FIC_OK;
}

int fic_checklist_get_json(char **out, fic_store *store, const char *id, int version)
{
	fic__err_clear();
	FIC__OUT(out);
	if (store == NULL || version < 0)
		return fic__err(FIC_EINVAL, "store is NULL or version negative");
	int rc = fic__check_text(id, "checklist id", 64, true, NULL);
	if (rc != FIC_OK)
		return rc;
	const fic__entry *e;
	if ((rc = fic__checklist_find(&e, store, id, version)) != FIC_OK)
		return rc;
	*out = cJSON_Print(e->def->root);
	return *out ? FIC_OK : fic__err(FIC_ENOMEM, "out of memory writing JSON");
}

void fic__registry_reset(fic_store *store)
{
	fic__registry_free(store->registry);
	store->registry = NULL;
}

int fic__checklist_install_tx(fic_store *store, const char *json, size_t len)
{
	fic__def *def;
	int rc = fic__def_parse(&def, json, len);
	if (rc != FIC_OK)
		return rc;
	const fic__entry *cur;
	if ((rc = fic__checklist_find(&cur, store, def->id, 0)) != FIC_OK) {
		if (rc != FIC_ENOTFOUND) {
			fic__def_free(def);
			return rc;
		}
		fic__err_clear();
		cur = NULL;
	}
	if (cur && cur->def->version >= def->version) {
		rc = fic__err(FIC_EEXISTS, "checklist %s version %d is not newer than the known "
		                           "version %d", def->id, def->version, cur->def->version);
		fic__def_free(def);
		return rc;
	}
	char *text = cJSON_PrintUnformatted(def->root);
	if (text == NULL) {
		fic__def_free(def);
		return fic__err(FIC_ENOMEM, "out of memory installing a checklist");
	}
	sqlite3_stmt *st = NULL;
	if ((rc = fic__prepare(store, &st, "INSERT INTO checklists (id, version, origin, definition, "
	                                   "installed_at_ms) VALUES (?1, ?2, 'installed', ?3, ?4)")) ==
	    FIC_OK) {
		sqlite3_bind_text(st, 1, def->id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, def->version);
		sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, fic__now_ms(store));
		int src = sqlite3_step(st);
		sqlite3_finalize(st);
		rc = src == SQLITE_DONE ? FIC_OK : fic__db_err(store, src, "installing a checklist");
		/* A county's own patrol area (其他专业, 实施方案 二(二)7) appears in the
		 * due list and the indicators from its first checklist on. */
		if (rc == FIC_OK && !def->is_event && strncmp(def->area, "other", 5) == 0)
			rc = fic__exec(store, "INSERT INTO patrol_areas (area, title, per_year, position) "
			                      "VALUES (?1, ?2, 2, 100) ON CONFLICT (area) DO NOTHING",
			               "adding the checklist's area", "tt", def->area, def->title_zh);
		if (rc == FIC_OK)
			rc = fic__exec(store, "INSERT INTO counts (name, n) SELECT 'open.' || ?1, 0 WHERE ?1 "
			                      "IN (SELECT area FROM patrol_areas) ON CONFLICT (name) DO NOTHING",
			               "adding the checklist's area", "t", def->area);
		if (rc == FIC_OK) {
			cJSON *d = cJSON_CreateObject();
			bool ok = d && cJSON_AddStringToObject(d, "id", def->id) &&
			          cJSON_AddNumberToObject(d, "version", def->version);
			rc = fic__audit_take(store, "checklist.install", "checklist", def->id, d, ok);
		}
	}
	fic__free(text);
	fic__def_free(def);
	return rc;
}

int fic_checklist_install(fic_store *store, const char *json, size_t len)
{
	fic__err_clear();
	if (store == NULL || json == NULL)
		return fic__err(FIC_EINVAL, "store and json are required");
	struct fic__registry *reg;
	int rc = registry(store, &reg);
	if (rc != FIC_OK)
		return rc;
	if ((rc = fic__tx_begin(store)) != FIC_OK)
		return rc;
	if ((rc = fic__tx_end(store, fic__checklist_install_tx(store, json, len))) != FIC_OK) {
		return rc;
	}
	fic__registry_reset(store); /* reloaded, with the new version, on next use */
	return FIC_OK;
}

bool fic__def_fits_kind(const fic__def *def, int kind)
{
	const char *code = fic_site_code_str(FIC_CODE_KIND, kind);
	const cJSON *k;
	cJSON_ArrayForEach(k, def->site_kinds) {
		if (cJSON_IsString(k) && strcmp(k->valuestring, code) == 0)
			return true;
	}
	return false;
}
