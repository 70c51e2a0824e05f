/*
 * core/json.c — attaching cJSON items without leaking them when memory runs
 * out: cJSON_AddItemToObject copies the key and can fail, leaving the item
 * with the caller.
 */
#include "internal.h"

#include <cjson/cJSON.h>

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
