/*
 * core/model/checklist.h — the checklist registry of a store: the built-in
 * definitions embedded in the library, those installed in the store, and any
 * version an old inspection used (kept in the `checklists` table).
 */
#ifndef FIC_CORE_CHECKLIST_H
#define FIC_CORE_CHECKLIST_H

#include "store/db.h"
#include "rules.h"

typedef struct fic__builtin {
	const char *name;
	const char *json;
	size_t len;
} fic__builtin;

extern const fic__builtin fic__builtin_checklists[];
extern const size_t fic__builtin_checklists_count;

typedef struct fic__entry {
	fic__def *def;
	const char *builtin_json; /* the embedded text, or NULL if loaded from the table */
	size_t builtin_len;
	bool builtin;             /* ships with the library (embedded, or stored with origin builtin) */
} fic__entry;

struct fic__registry {
	fic__entry *entries;
	size_t count, cap;
};

/*
 * Find a definition: `version` 0 = the current (highest) one. Loads the
 * registry on first use and, for a specific version not in memory, the
 * store's `checklists` table. FIC_ENOTFOUND if unknown.
 */
int fic__checklist_find(const fic__entry **out, fic_store *store, const char *id, int version);

/* Whether the definition is for a site of `kind` (its site_kinds name it). */
bool fic__def_fits_kind(const fic__def *def, int kind);

/* Free a registry (the store calls it through store->registry_free). */
void fic__registry_free(struct fic__registry *reg);

/* Make sure the definition is in the `checklists` table (inside the caller's transaction). */
int fic__checklist_persist(fic_store *store, const fic__entry *entry);

#endif
