/*
 * core/util/json.c — attaching cJSON items without leaking them when memory
 * runs out (cJSON_AddItemToObject copies the key and can fail, leaving the
 * item with the caller), and the canonical form of a document: keys sorted
 * at every level, printed without spaces — what the hash chain hashes.
 */
#include "util.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

bool fic__json_put(cJSON *obj, const char *key, cJSON *item)
{
	if (item == NULL)
		return false;
	if (obj == NULL || !(key ? cJSON_AddItemToObject(obj, key, item) : cJSON_AddItemToArray(obj, item))) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

bool fic__json_take(cJSON *obj, const char *key, cJSON **item)
{
	cJSON *it = *item;
	*item = NULL; /* ours now, attached or freed */
	return fic__json_put(obj, key, it);
}

/* ---- canonical form ---- */

static int cmp_child(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	return strcmp(x->string, y->string);
}

static cJSON *sorted_copy(const cJSON *v, int depth)
{
	if (depth > 64)
		return NULL;
	if (cJSON_IsArray(v)) {
		cJSON *a = cJSON_CreateArray();
		const cJSON *c;
		cJSON_ArrayForEach(c, v) {
			if (a && !fic__json_put(a, NULL, sorted_copy(c, depth + 1))) {
				cJSON_Delete(a);
				return NULL;
			}
		}
		return a;
	}
	if (!cJSON_IsObject(v))
		return cJSON_Duplicate(v, false);
	int n = cJSON_GetArraySize(v);
	const cJSON **kids = fic__malloc((size_t)(n ? n : 1) * sizeof *kids);
	cJSON *o = cJSON_CreateObject();
	if (kids == NULL || o == NULL) {
		fic__free(kids);
		cJSON_Delete(o);
		return NULL;
	}
	int i = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, v) {
		kids[i++] = c;
	}
	qsort(kids, (size_t)n, sizeof *kids, cmp_child);
	for (i = 1; i < n; i++)
		if (strcmp(kids[i - 1]->string, kids[i]->string) == 0) { /* a duplicate key: not canonical */
			fic__free(kids);
			cJSON_Delete(o);
			return NULL;
		}
	for (i = 0; i < n; i++) {
		if (!fic__json_put(o, kids[i]->string, sorted_copy(kids[i], depth + 1))) {
			cJSON_Delete(o);
			o = NULL;
			break;
		}
	}
	fic__free(kids);
	return o;
}

char *fic__canonical(const cJSON *v)
{
	cJSON *s = sorted_copy(v, 0);
	char *text = s ? cJSON_PrintUnformatted(s) : NULL;
	cJSON_Delete(s);
	return text;
}

int fic__json_out(char **out, cJSON *o, bool built, int rc)
{
	*out = NULL;
	if (rc == FIC_OK && (!built || o == NULL || (*out = cJSON_Print(o)) == NULL))
		rc = fic__err(FIC_ENOMEM, "out of memory writing JSON");
	cJSON_Delete(o);
	return rc;
}

cJSON *fic__json_built(cJSON *o, bool built)
{
	if (built)
		return o;
	cJSON_Delete(o);
	return NULL;
}
