/*
 * core/model/codes.c — the site enumerations as the API, the store and the
 * wire know them: the integer stored (include/fieldinspect/site.h, never
 * renumbered), the code string used in JSON and rules, and the Chinese label
 * shown to the inspector. One table for all of them; nothing else.
 */
#include "model.h"

#include <stdio.h>
#include <string.h>

/* ---- enumerations: stored integers, code strings, Chinese labels ---- */

/* One row per value of every enumeration: its type (FIC_CODE_*), the stored
 * integer, the code string and the label, in the order they are offered. */
typedef struct code_entry {
	int type;
	int value;
	const char *code;
	const char *label;
} code_entry;

static const code_entry codes[] = {
	{ FIC_CODE_KIND, FIC_SITE_WATER_RURAL, "water_rural", "农村集中式供水" },
	{ FIC_CODE_KIND, FIC_SITE_WATER_SECONDARY, "water_secondary", "城市二次供水" },
	{ FIC_CODE_KIND, FIC_SITE_SCHOOL, "school", "学校/托幼机构" },
	{ FIC_CODE_KIND, FIC_SITE_MEDICAL, "medical", "医疗机构" },
	{ FIC_CODE_KIND, FIC_SITE_BLOOD_STATION, "blood_station", "血站" },
	{ FIC_CODE_KIND, FIC_SITE_PLASMA_STATION, "plasma_station", "单采血浆站" },
	{ FIC_CODE_KIND, FIC_SITE_MCH, "mch", "母婴保健技术服务机构" },
	{ FIC_CODE_KIND, FIC_SITE_EMPLOYER, "employer", "职业卫生用人单位" },
	{ FIC_CODE_KIND, FIC_SITE_OTHER_VENUE, "other_venue", "其他场所" },
	{ FIC_CODE_STATUS, FIC_SITE_ACTIVE, "active", "正常" },
	{ FIC_CODE_STATUS, FIC_SITE_CLOSED, "closed", "已关闭/停业" },
	{ FIC_CODE_STATUS, FIC_SITE_CHANGED, "changed", "信息变更" },
	{ FIC_CODE_ORIGIN, FIC_SITE_FROM_COUNTY, "county", "区县本底" },
	{ FIC_CODE_ORIGIN, FIC_SITE_FROM_FIELD, "field", "现场新建本底" },
	{ FIC_CODE_SCHOOL_LEVEL, FIC_SCHOOL_KINDERGARTEN, "kindergarten", "托幼机构" },
	{ FIC_CODE_SCHOOL_LEVEL, FIC_SCHOOL_PRIMARY, "primary", "小学" },
	{ FIC_CODE_SCHOOL_LEVEL, FIC_SCHOOL_SECONDARY, "secondary", "中学" },
	{ FIC_CODE_SCHOOL_LEVEL, FIC_SCHOOL_VOCATIONAL, "vocational", "中职学校" },
	{ FIC_CODE_SCHOOL_LEVEL, FIC_SCHOOL_UNIVERSITY, "university", "普通高校" },
	{ FIC_CODE_SCHOOL_LEVEL, FIC_SCHOOL_OTHER, "other", "其他学校" },
	{ FIC_CODE_MED_REGISTRATION, FIC_MED_LICENSED, "licensed", "许可类" },
	{ FIC_CODE_MED_REGISTRATION, FIC_MED_FILED, "filed", "备案类" },
	{ FIC_CODE_INSTITUTION_TYPE, FIC_INST_GENERAL_HOSPITAL, "general_hospital", "综合医院" },
	{ FIC_CODE_INSTITUTION_TYPE, FIC_INST_TCM_HOSPITAL, "tcm_hospital", "中医医院" },
	{ FIC_CODE_INSTITUTION_TYPE, FIC_INST_INTEGRATED_HOSPITAL, "integrated_hospital", "中西医结合医院" },
	{ FIC_CODE_INSTITUTION_TYPE, FIC_INST_ETHNIC_HOSPITAL, "ethnic_hospital", "民族医院" },
	{ FIC_CODE_INSTITUTION_TYPE, FIC_INST_SPECIALTY_HOSPITAL, "specialty_hospital", "专科医院" },
	{ FIC_CODE_INSTITUTION_TYPE, FIC_INST_SANATORIUM, "sanatorium", "疗养院" },
	{ FIC_CODE_INSTITUTION_TYPE, FIC_INST_REHAB_HOSPITAL, "rehab_hospital", "康复医院" },
	{ FIC_CODE_INSTITUTION_TYPE, FIC_INST_MCH_HOSPITAL, "mch_hospital", "妇幼保健院" },
	{ FIC_CODE_INSTITUTION_TYPE, FIC_INST_EMERGENCY_CENTER, "emergency_center", "急救中心" },
	{ FIC_CODE_INSTITUTION_TYPE, FIC_INST_CLINICAL_LAB, "clinical_lab", "临床检验中心" },
	{ FIC_CODE_INSTITUTION_TYPE, FIC_INST_DISEASE_CONTROL, "disease_control", "专科疾病防治机构" },
	{ FIC_CODE_INSTITUTION_TYPE, FIC_INST_VILLAGE_CLINIC, "village_clinic", "村卫生室" },
	{ FIC_CODE_INSTITUTION_TYPE, FIC_INST_CLINIC, "clinic", "诊所/门诊部" },
	{ FIC_CODE_INSTITUTION_TYPE, FIC_INST_TCM_CLINIC, "tcm_clinic", "中医诊所" },
	{ FIC_CODE_INSTITUTION_TYPE, FIC_INST_OTHER, "other", "其他医疗机构" },
	{ FIC_CODE_INDUSTRY, FIC_INDUSTRY_COAL_MINE, "coal_mine", "煤矿" },
	{ FIC_CODE_INDUSTRY, FIC_INDUSTRY_NONCOAL_MINE, "noncoal_mine", "非煤矿山" },
	{ FIC_CODE_INDUSTRY, FIC_INDUSTRY_METALLURGY, "metallurgy", "冶金" },
	{ FIC_CODE_INDUSTRY, FIC_INDUSTRY_BUILDING_MATERIALS, "building_materials", "建材" },
	{ FIC_CODE_INDUSTRY, FIC_INDUSTRY_OTHER, "other", "其他行业" },
	{ FIC_CODE_HAZARD_LEVEL, FIC_HAZARD_ORDINARY, "ordinary", "职业病危害一般" },
	{ FIC_CODE_HAZARD_LEVEL, FIC_HAZARD_SEVERE, "severe", "职业病危害严重" },
	{ FIC_CODE_VENUE_TYPE, FIC_VENUE_MARKET, "market", "集贸市场" },
	{ FIC_CODE_VENUE_TYPE, FIC_VENUE_BEAUTY_SALON, "beauty_salon", "美容院" },
	{ FIC_CODE_VENUE_TYPE, FIC_VENUE_OFFICE_BUILDING, "office_building", "写字楼" },
	{ FIC_CODE_VENUE_TYPE, FIC_VENUE_PHARMACY, "pharmacy", "药房" },
	{ FIC_CODE_VENUE_TYPE, FIC_VENUE_OTHER, "other", "其他场所" },
};
#define NCODES (sizeof codes / sizeof codes[0])

static const code_entry *code_find(int type, int value)
{
	for (size_t i = 0; i < NCODES; i++)
		if (codes[i].type == type && codes[i].value == value)
			return &codes[i];
	return NULL;
}

const char *fic_site_code_str(int type, int value)
{
	const code_entry *e = code_find(type, value);
	return e ? e->code : "";
}

const char *fic_site_code_label(int type, int value)
{
	const code_entry *e = code_find(type, value);
	return e ? e->label : "";
}

int fic_site_code_parse(int *out, int type, const char *code)
{
	fic__err_clear();
	bool known_type = false;
	for (size_t i = 0; i < NCODES && !known_type; i++)
		known_type = codes[i].type == type;
	if (out == NULL || !known_type)
		return fic__err(FIC_EINVAL, "out is NULL or the code type is unknown");
	*out = 0;
	if (code == NULL)
		return fic__err(FIC_EINVAL, "code is NULL");
	char accepted[400] = "";
	size_t used = 0;
	for (size_t i = 0; i < NCODES; i++) {
		const code_entry *e = &codes[i];
		if (e->type != type)
			continue;
		if (strcmp(e->code, code) == 0) {
			*out = e->value;
			return FIC_OK;
		}
		int n = snprintf(accepted + used, sizeof accepted - used, "%s%s", used ? ", " : "",
		                 e->code);
		if (n > 0 && (size_t)n < sizeof accepted - used)
			used += (size_t)n;
	}
	return fic__err(FIC_EINVAL, "unknown code '%.40s' (accepted: %s)", code, accepted);
}

bool fic__code_known(int type, int value)
{
	return code_find(type, value) != NULL;
}
