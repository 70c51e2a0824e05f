/*
 * core/flow/registry.c — the inspector's changes to the registry (本底) as
 * reports: a site found closed, or whose facts differ from the registry, is
 * reported to the agency with proof photos ("拍摄证明照片，并描述相关事项，
 * 报告卫生健康执法机构": 实施方案 服务方法 1(3); 饮用水、学校卫生、职业卫生
 * 三(二)2; 非法行医、妇幼健康 三(二)2), whether it is found on a patrol
 * (fic_inspection_report_site) or changed at another time (fic_site_update,
 * fic_site_close, fic_site_report here).
 *
 * Each files a site-status lead as a draft in the change's own transaction;
 * a site-status lead is submitted only with its proof photo: the patrol's
 * when it finishes, the others by fic_lead_submit once the app has attached
 * one (lead.c, fic__lead_proof_check).
 */
#include "flow.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

int fic__site_status_lead(char *id_out, fic_store *store, const char *site_id,
                          const char *inspection_id, int finding, const char *reason,
                          const cJSON *before, const cJSON *after)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(after ? after : before, "name");
	char title[400];
	snprintf(title, sizeof title, "%s：%s", cJSON_IsString(name) ? name->valuestring : "",
	         finding == FIC_FOUND_CLOSED ? "现场核实已关闭或长期未经营" : "现场核实信息变更");
	cJSON *content = cJSON_CreateObject(), *sf = cJSON_CreateObject();
	bool ok = content && sf &&
	          cJSON_AddStringToObject(sf, "status", finding == FIC_FOUND_CLOSED ? "closed" : "changed") &&
	          cJSON_AddStringToObject(sf, "reason", reason) &&
	          (inspection_id == NULL || cJSON_AddStringToObject(content, "inspection_id", inspection_id)) &&
	          fic__json_put(content, "site", cJSON_Duplicate(after ? after : before, true)) &&
	          (before == NULL || after == NULL ||
	           fic__json_put(content, "site_before", cJSON_Duplicate(before, true))) &&
	          fic__json_take(content, "site_finding", &sf);
	cJSON_Delete(sf);
	int rc = ok ? FIC_OK : fic__err(FIC_ENOMEM, "out of memory filing a site-status lead");
	if (rc == FIC_OK) {
		fic__lead_spec spec = { "site_status", "general", title, "enforcement", FIC_URGENCY_NONE,
			                false, NULL, 0, site_id, inspection_id, fic__now_ms(store),
			                content, NULL, false };
		rc = fic__lead_insert(id_out, store, &spec);
	}
	cJSON_Delete(content);
	return rc;
}

/* The site's facts as a rule sees them (for the lead), or NULL with the error set. */
static cJSON *facts_of(fic_store *store, const char *site_id, int *rc)
{
	fic_site *s = NULL;
	*rc = fic_site_get(&s, store, site_id);
	if (*rc != FIC_OK)
		return NULL;
	cJSON *facts = fic__site_facts(s);
	int64_t revision = s->revision;
	int origin = s->origin;
	fic_site_free(s);
	if (facts == NULL) {
		*rc = fic__err(FIC_ENOMEM, "out of memory reading a site");
		return NULL;
	}
	/* What the report needs besides the rule facts: whether the county holds it. */
	if (!cJSON_AddNumberToObject(facts, "revision", (double)revision) ||
	    !cJSON_AddBoolToObject(facts, "from_county", origin == FIC_SITE_FROM_COUNTY)) {
		cJSON_Delete(facts);
		*rc = fic__err(FIC_ENOMEM, "out of memory reading a site");
		return NULL;
	}
	return facts;
}

/*
 * The change and its report, inside the caller's transaction. `lead_out`
 * gets the draft lead's id, or "" when no report is due: a change that
 * changes nothing is not one, and (unless `always`: fic_site_report) a
 * correction to a site the inspector added (新建本底) is theirs to make.
 */
static int change_and_report(char *lead_out, fic_site **out, fic_store *store, const char *site_id,
                             int finding, const char *reason, const fic_site *changes,
                             bool always)
{
	lead_out[0] = '\0';
	int rc;
	cJSON *before = site_id ? facts_of(store, site_id, &rc) : NULL;
	if (before == NULL && site_id && rc == FIC_ENOMEM)
		return rc;
	if (before == NULL)
		fic__err_clear(); /* the change itself says what is wrong */
	if (finding == FIC_FOUND_CLOSED)
		rc = fic__site_close_tx(store, site_id, reason);
	else
		rc = fic__site_update_tx(out, store, changes, reason);
	cJSON *after = rc == FIC_OK ? facts_of(store, site_id, &rc) : NULL;
	if (rc == FIC_OK && before && after) {
		bool changed = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(before, "revision")) !=
		               cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(after, "revision"));
		bool county = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(before, "from_county"));
		if (changed && (county || always || finding == FIC_FOUND_CLOSED)) {
			cJSON_DeleteItemFromObjectCaseSensitive(before, "revision");
			cJSON_DeleteItemFromObjectCaseSensitive(before, "from_county");
			cJSON_DeleteItemFromObjectCaseSensitive(after, "revision");
			cJSON_DeleteItemFromObjectCaseSensitive(after, "from_county");
			rc = fic__site_status_lead(lead_out, store, site_id, NULL, finding, reason,
			                           finding == FIC_FOUND_CLOSED ? NULL : before, after);
		}
	}
	cJSON_Delete(before);
	cJSON_Delete(after);
	if (rc != FIC_OK && out) {
		fic_site_free(*out);
		*out = NULL;
	}
	return rc;
}

int fic_site_update(fic_site **out, fic_store *store, const fic_site *site, const char *reason)
{
	fic__err_clear();
	if (out)
		*out = NULL;
	if (store == NULL || site == NULL)
		return fic__err(FIC_EINVAL, "store and site are required");
	fic_site given;
	int rc = fic__site_in(&given, site);
	if (rc != FIC_OK)
		return rc;
	site = &given;
	if ((rc = fic__tx_begin(store)) != FIC_OK)
		return rc;
	fic_site *res = NULL;
	char lead[FIC_UUID_BUFSIZE];
	rc = change_and_report(lead, &res, store, site->id, FIC_FOUND_CHANGED, reason, site, false);
	rc = fic__tx_end(store, rc);
	if (rc != FIC_OK) {
		fic_site_free(res);
		return rc;
	}
	if (out)
		*out = res;
	else
		fic_site_free(res);
	return FIC_OK;
}

int fic_site_close(fic_store *store, const char *id, const char *reason)
{
	fic__err_clear();
	FIC__ARG(store);
	int rc = fic__tx_begin(store);
	if (rc != FIC_OK)
		return rc;
	char lead[FIC_UUID_BUFSIZE];
	rc = change_and_report(lead, NULL, store, id, FIC_FOUND_CLOSED, reason, NULL, false);
	return fic__tx_end(store, rc);
}

int fic_site_report(char *lead_id_out, fic_store *store, const char *site_id, int finding,
                    const char *reason, const fic_site *changes)
{
	fic__err_clear();
	FIC__ARG(lead_id_out);
	lead_id_out[0] = '\0';
	FIC__ARG(store);
	int rc = fic__check_text(site_id, "site id", FIC_ID_MAX, true, NULL);
	if (rc != FIC_OK)
		return rc;
	if (finding != FIC_FOUND_CLOSED && finding != FIC_FOUND_CHANGED)
		return fic__err(FIC_EINVAL, "finding must be FIC_FOUND_CLOSED or FIC_FOUND_CHANGED");
	if ((finding == FIC_FOUND_CHANGED) != (changes != NULL))
		return fic__err(FIC_EINVAL, "changes are given with FIC_FOUND_CHANGED, and only then");
	fic_site given;
	if (changes) {
		if ((rc = fic__site_in(&given, changes)) != FIC_OK)
			return rc;
		changes = &given;
	}
	if (changes && (changes->id == NULL || strcmp(changes->id, site_id) != 0))
		return fic__err(FIC_EINVAL, "changes must be for site %s", site_id);
	if ((rc = fic__tx_begin(store)) != FIC_OK)
		return rc;
	char lead[FIC_UUID_BUFSIZE];
	rc = change_and_report(lead, NULL, store, site_id, finding, reason, changes, true);
	if (rc == FIC_OK && lead[0] == '\0')
		rc = fic__err(FIC_EINVAL, "nothing to report: the facts given are the registry's");
	if ((rc = fic__tx_end(store, rc)) == FIC_OK)
		memcpy(lead_id_out, lead, FIC_UUID_BUFSIZE);
	return rc;
}
