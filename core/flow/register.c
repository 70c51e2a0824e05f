/*
 * core/flow/register.c — the registers a co-inspector keeps (协管服务机构
 * "巡查巡访、信息报告收集" records, 实施方案 三(一)3): the patrol register
 * (巡查登记表) and the report register (信息报告登记表), a line per patrol
 * or per report with its date, site, inspector, findings, whether and to
 * whom it was reported and how it was handled; by month and area; as JSON,
 * CSV, or an HTML page ready to print.
 */
#include "flow.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct column {
	const char *key, *zh;
} column;

static const column patrol_columns[] = {
	{ "date", "日期" },          { "site", "被巡查单位" },   { "kind", "类别" },
	{ "address", "地址" },       { "checklist", "巡查内容" }, { "area", "专业" },
	{ "visit_mode", "方式" },    { "inspector", "协管员" },   { "findings", "发现问题" },
	{ "site_finding", "场所情况" }, { "reported", "是否报告" }, { "report_to", "报告对象" },
	{ "handling", "处理结果" },
};
static const column report_columns[] = {
	{ "discovered", "发现时间" }, { "title", "线索或事件" }, { "category", "类别" },
	{ "area", "专业" },           { "site", "涉及单位" },     { "inspector", "协管员" },
	{ "urgency", "时限" },        { "reported", "是否报告" }, { "report_to", "报告对象" },
	{ "reported_at", "报告时间" }, { "handling", "处理结果" },
};

static const char *area_zh(const char *area)
{
	static const struct { const char *a, *zh; } t[] = {
		{ "foodborne", "食源性疾病" }, { "drinking_water", "饮用水卫生" }, { "school", "学校卫生" },
		{ "medical_blood", "非法行医和非法采供血" }, { "mch", "妇幼健康" }, { "occupational", "职业卫生" },
		{ "general", "通用" },
	};
	for (size_t i = 0; area && i < sizeof t / sizeof t[0]; i++)
		if (strcmp(t[i].a, area) == 0)
			return t[i].zh;
	return area ? area : "";
}

static const char *to_zh(const char *report_to)
{
	return report_to && strcmp(report_to, "district_cdc") == 0 ? "区县疾病预防控制机构"
	                                                           : "卫生健康监督执法机构";
}

/* "YYYY-MM-DD HH:MM" local time of a UTC instant. */
static void local_time(fic_store *store, int64_t ms, char out[20])
{
	int64_t local = ms + (int64_t)fic__utc_offset_min(store) * 60000;
	int64_t day = local >= 0 ? local / 86400000 : (local - 86399999) / 86400000;
	int64_t in_day = (local - day * 86400000) / 60000;
	char d[11];
	fic__days_format(day, d);
	snprintf(out, 20, "%s %02d:%02d", d, (int)(in_day / 60), (int)(in_day % 60));
}

/* How a lead was handled, in words: delivered (when), waiting, refused, a draft; its tasks. */
static void handling(fic_store *store, fic__sb *sb, const char *lead_id, const char *state,
                     int64_t receipt_at, const char *reject)
{
	char when[20];
	if (strcmp(state, "delivered") == 0) {
		local_time(store, receipt_at, when);
		fic__sb_printf(sb, "已送达（%s）", when);
	} else if (strcmp(state, "queued") == 0) {
		fic__sb_printf(sb, "已报告，待上传");
	} else if (strcmp(state, "rejected") == 0) {
		fic__sb_printf(sb, "被退回：%s", reject ? reject : "");
	} else {
		fic__sb_printf(sb, "草稿，未报告");
	}
	sqlite3_stmt *st;
	if (fic__prepare(store, &st, "SELECT state, due_date FROM tasks WHERE lead_id = ?1 ORDER BY "
	                             "due_date") != FIC_OK) {
		fic__err_clear();
		return;
	}
	sqlite3_bind_text(st, 1, lead_id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *ts = (const char *)sqlite3_column_text(st, 0);
		fic__sb_printf(sb, "；复查任务（%s前）%s", (const char *)sqlite3_column_text(st, 1),
		               strcmp(ts, "done") == 0 ? "已完成" : strcmp(ts, "open") == 0 ? "待完成" : "已取消");
	}
	sqlite3_finalize(st);
}

static bool put_text(cJSON *o, const char *k, const char *v)
{
	return cJSON_AddStringToObject(o, k, v ? v : "") != NULL;
}

/* The patrol register's rows: finished inspections in [d0, d1) (dates), of `area` or all. */
static int patrol_rows(fic_store *store, cJSON *rows, const char *d0, const char *d1,
                       const char *area)
{
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st,
	                      "SELECT i.id, i.inspection_date, i.site_facts, i.checklist_id, "
	                      "i.checklist_version, i.area, i.visit_mode, i.inspector, i.findings, "
	                      "i.site_finding FROM inspections i WHERE i.state = 'finished' AND "
	                      "i.inspection_date >= ?1 AND i.inspection_date < ?2 AND (?3 IS NULL OR "
	                      "i.area = ?3) ORDER BY i.inspection_date, i.finished_at_ms, i.id");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_text(st, 1, d0, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, d1, -1, SQLITE_STATIC);
	if (area)
		sqlite3_bind_text(st, 3, area, -1, SQLITE_STATIC);
	int src;
	bool ok = true;
	while (ok && rc == FIC_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		cJSON *facts = cJSON_Parse((const char *)sqlite3_column_text(st, 2));
		cJSON *findings = cJSON_Parse((const char *)sqlite3_column_text(st, 8));
		const char *sft = (const char *)sqlite3_column_text(st, 9);
		cJSON *sf = sft ? cJSON_Parse(sft) : NULL;
		const fic__entry *e = NULL;
		int crc = fic__checklist_find(&e, store, (const char *)sqlite3_column_text(st, 3),
		                              sqlite3_column_int(st, 4));
		if (crc == FIC_ENOMEM)
			rc = crc;
		else if (crc != FIC_OK)
			fic__err_clear(); /* named by its id */
		const char *mode = (const char *)sqlite3_column_text(st, 6);
		const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(facts, "kind"));
		int kv = 0;
		if (kind && fic_site_code_parse(&kv, FIC_CODE_KIND, kind) != FIC_OK)
			fic__err_clear();
		/* findings in words */
		fic__sb fs = { NULL, 0, 0, false };
		int n = cJSON_GetArraySize(findings);
		if (n == 0)
			fic__sb_printf(&fs, "未发现异常");
		const cJSON *f;
		int k = 0;
		cJSON_ArrayForEach(f, findings) {
			fic__sb_printf(&fs, "%s%d. %s", k ? "；" : "", k + 1,
			               cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "finding_zh")));
			k++;
		}
		char *ftext = fic__sb_take(&fs);
		/* its leads: reported, to whom, handling */
		fic__sb hs = { NULL, 0, 0, false };
		sqlite3_stmt *ls;
		int leads = 0, submitted = 0;
		const char *report_to = NULL;
		char to_buf[40] = "";
		if ((rc = fic__prepare(store, &ls, "SELECT id, state, report_to, receipt_at_ms, "
		                                   "reject_reason FROM leads WHERE inspection_id = ?1 "
		                                   "ORDER BY urgent DESC, created_at_ms, id")) == FIC_OK) {
			sqlite3_bind_text(ls, 1, id, -1, SQLITE_STATIC);
			while (sqlite3_step(ls) == SQLITE_ROW) {
				const char *state = (const char *)sqlite3_column_text(ls, 1);
				if (leads++)
					fic__sb_printf(&hs, "；");
				submitted += strcmp(state, "queued") == 0 || strcmp(state, "delivered") == 0;
				snprintf(to_buf, sizeof to_buf, "%s", (const char *)sqlite3_column_text(ls, 2));
				report_to = to_buf;
				handling(store, &hs, (const char *)sqlite3_column_text(ls, 0), state,
				         sqlite3_column_int64(ls, 3), (const char *)sqlite3_column_text(ls, 4));
			}
			sqlite3_finalize(ls);
		}
		if (leads == 0)
			fic__sb_printf(&hs, "无需报告");
		char *htext = fic__sb_take(&hs);
		const char *sfs = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sf, "status"));
		ok = rc == FIC_OK && facts && ftext && htext;
		cJSON *r = ok ? cJSON_CreateObject() : NULL;
		ok = ok && fic__json_put(rows, NULL, r) &&
		     put_text(r, "inspection_id", id) &&
		     put_text(r, "date", (const char *)sqlite3_column_text(st, 1)) &&
		     put_text(r, "site_id", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(facts, "id"))) &&
		     put_text(r, "site", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(facts, "name"))) &&
		     put_text(r, "kind", kv ? fic_site_code_label(FIC_CODE_KIND, kv) : "") &&
		     put_text(r, "address", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(facts, "address"))) &&
		     put_text(r, "checklist", e ? e->def->title_zh : (const char *)sqlite3_column_text(st, 3)) &&
		     put_text(r, "area", area_zh((const char *)sqlite3_column_text(st, 5))) &&
		     put_text(r, "visit_mode", mode == NULL ? "" : strcmp(mode, "unannounced") == 0 ? "暗访" : "明查") &&
		     put_text(r, "inspector", (const char *)sqlite3_column_text(st, 7)) &&
		     cJSON_AddNumberToObject(r, "finding_count", n) && put_text(r, "findings", ftext) &&
		     put_text(r, "site_finding", sfs == NULL ? "" : strcmp(sfs, "closed") == 0
		                                                         ? "已关闭或长期未经营"
		                                                         : "信息变更") &&
		     put_text(r, "reported", leads == 0 ? "无需" : submitted == leads ? "是" : "否") &&
		     put_text(r, "report_to", report_to ? to_zh(report_to) : "") &&
		     put_text(r, "handling", htext);
		if (rc == FIC_OK && !ok)
			rc = fic__err(FIC_ENOMEM, "out of memory building the patrol register");
		fic__free(ftext);
		fic__free(htext);
		cJSON_Delete(facts);
		cJSON_Delete(findings);
		cJSON_Delete(sf);
	}
	if (rc == FIC_OK && src != SQLITE_DONE)
		rc = fic__db_err(store, src, "building the patrol register");
	sqlite3_finalize(st);
	return rc;
}

/* The report register's rows: leads discovered in [t0, t1) (UTC ms), of `area` or all. */
static int report_rows(fic_store *store, cJSON *rows, int64_t t0, int64_t t1, const char *area)
{
	sqlite3_stmt *st;
	int rc = fic__prepare(store, &st,
	                      "SELECT l.id, l.discovered_at_ms, l.title, l.category, l.area, "
	                      "(SELECT s.name FROM sites s WHERE s.id = l.site_id), (SELECT a.actor "
	                      "FROM audit a WHERE a.entity_id = l.id AND a.action = 'lead.file' "
	                      "LIMIT 1), l.urgent, l.state, l.report_to, l.submitted_at_ms, "
	                      "l.receipt_at_ms, l.reject_reason, l.corrects FROM leads l WHERE "
	                      "l.discovered_at_ms >= ?1 AND l.discovered_at_ms < ?2 AND (?3 IS NULL OR "
	                      "l.area = ?3) ORDER BY l.discovered_at_ms, l.id");
	if (rc != FIC_OK)
		return rc;
	sqlite3_bind_int64(st, 1, t0);
	sqlite3_bind_int64(st, 2, t1);
	if (area)
		sqlite3_bind_text(st, 3, area, -1, SQLITE_STATIC);
	int src;
	bool ok = true;
	while (ok && rc == FIC_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *state = (const char *)sqlite3_column_text(st, 8);
		int urgency = sqlite3_column_int(st, 7);
		bool submitted = strcmp(state, "queued") == 0 || strcmp(state, "delivered") == 0;
		char found[20], at[20] = "";
		local_time(store, sqlite3_column_int64(st, 1), found);
		if (sqlite3_column_type(st, 10) != SQLITE_NULL)
			local_time(store, sqlite3_column_int64(st, 10), at);
		/* to whom: the recipient, and any call that reported it */
		fic__sb to = { NULL, 0, 0, false }, hs = { NULL, 0, 0, false };
		fic__sb_printf(&to, "%s", to_zh((const char *)sqlite3_column_text(st, 9)));
		sqlite3_stmt *cs;
		if ((rc = fic__prepare(store, &cs, "SELECT method, called_at_ms, to_whom FROM lead_calls "
		                                   "WHERE lead_id = ?1 ORDER BY called_at_ms")) == FIC_OK) {
			sqlite3_bind_text(cs, 1, id, -1, SQLITE_STATIC);
			while (sqlite3_step(cs) == SQLITE_ROW) {
				char when[20];
				local_time(store, sqlite3_column_int64(cs, 1), when);
				fic__sb_printf(&to, "；%s %s %s",
				               strcmp((const char *)sqlite3_column_text(cs, 0), "fax") == 0 ? "传真" : "电话",
				               when, (const char *)sqlite3_column_text(cs, 2));
			}
			sqlite3_finalize(cs);
		}
		if (sqlite3_column_type(st, 13) != SQLITE_NULL)
			fic__sb_printf(&hs, "更正此前线索；");
		handling(store, &hs, id, state, sqlite3_column_int64(st, 11),
		         (const char *)sqlite3_column_text(st, 12));
		char *tt = fic__sb_take(&to), *ht = fic__sb_take(&hs);
		ok = rc == FIC_OK && tt && ht;
		cJSON *r = ok ? cJSON_CreateObject() : NULL;
		ok = ok && fic__json_put(rows, NULL, r) &&
		     put_text(r, "lead_id", id) && put_text(r, "discovered", found) &&
		     put_text(r, "title", (const char *)sqlite3_column_text(st, 2)) &&
		     put_text(r, "category", (const char *)sqlite3_column_text(st, 3)) &&
		     put_text(r, "area", area_zh((const char *)sqlite3_column_text(st, 4))) &&
		     put_text(r, "site", (const char *)sqlite3_column_text(st, 5)) &&
		     put_text(r, "inspector", (const char *)sqlite3_column_text(st, 6)) &&
		     put_text(r, "urgency", urgency == FIC_URGENCY_IMMEDIATE ? "立即报告"
		                            : urgency ? "两小时内" : "") &&
		     put_text(r, "reported", submitted ? "是" : "否") && put_text(r, "report_to", tt) &&
		     put_text(r, "reported_at", at) && put_text(r, "handling", ht);
		if (rc == FIC_OK && !ok)
			rc = fic__err(FIC_ENOMEM, "out of memory building the report register");
		fic__free(tt);
		fic__free(ht);
	}
	if (rc == FIC_OK && src != SQLITE_DONE)
		rc = fic__db_err(store, src, "building the report register");
	sqlite3_finalize(st);
	return rc;
}

/* ---- the forms ---- */

static void csv_cell(fic__sb *sb, const char *v)
{
	fic__sb_printf(sb, "\"");
	for (const char *p = v; *p; p++)
		fic__sb_printf(sb, *p == '"' ? "\"\"" : "%c", *p);
	fic__sb_printf(sb, "\"");
}

static void html_text(fic__sb *sb, const char *v)
{
	for (const char *p = v; *p; p++) {
		switch (*p) {
		case '&': fic__sb_printf(sb, "&amp;"); break;
		case '<': fic__sb_printf(sb, "&lt;"); break;
		case '>': fic__sb_printf(sb, "&gt;"); break;
		case '"': fic__sb_printf(sb, "&quot;"); break;
		case '\'': fic__sb_printf(sb, "&#39;"); break;
		default: fic__sb_printf(sb, "%c", *p);
		}
	}
}

static char *render(const cJSON *doc, const column *cols, size_t ncols, int format)
{
	fic__sb sb = { NULL, 0, 0, false };
	const cJSON *rows = cJSON_GetObjectItemCaseSensitive(doc, "rows"), *r;
	if (format == FIC_REGISTER_CSV) {
		fic__sb_printf(&sb, "\xEF\xBB\xBF"); /* so a spreadsheet reads it as UTF-8 */
		for (size_t c = 0; c < ncols; c++) {
			if (c)
				fic__sb_printf(&sb, ",");
			csv_cell(&sb, cols[c].zh);
		}
		fic__sb_printf(&sb, "\r\n");
		cJSON_ArrayForEach(r, rows) {
			for (size_t c = 0; c < ncols; c++) {
				if (c)
					fic__sb_printf(&sb, ",");
				const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, cols[c].key));
				csv_cell(&sb, v ? v : "");
			}
			fic__sb_printf(&sb, "\r\n");
		}
		return fic__sb_take(&sb);
	}
	const char *title = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "title"));
	const char *period = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "period"));
	const char *made = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "made_at"));
	fic__sb_printf(&sb, "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
	                    "<title>");
	html_text(&sb, title);
	fic__sb_printf(&sb, "</title>\n<style>\n@page { size: A4 landscape; margin: 12mm; }\n"
	                    "body { font-family: \"Noto Sans CJK SC\", \"Source Han Sans SC\", sans-serif; "
	                    "font-size: 10pt; }\nh1 { font-size: 16pt; text-align: center; margin: 0 0 4pt; }\n"
	                    "p.meta { text-align: center; margin: 0 0 8pt; }\n"
	                    "table { border-collapse: collapse; width: 100%%; }\n"
	                    "th, td { border: 0.5pt solid #000; padding: 2pt 4pt; vertical-align: top; }\n"
	                    "thead { display: table-header-group; }\ntr { page-break-inside: avoid; }\n"
	                    "p.sign { margin-top: 16pt; }\n</style>\n</head>\n<body>\n<h1>");
	html_text(&sb, title);
	fic__sb_printf(&sb, "</h1>\n<p class=\"meta\">");
	html_text(&sb, period);
	fic__sb_printf(&sb, "　制表时间：");
	html_text(&sb, made);
	fic__sb_printf(&sb, "</p>\n<table>\n<thead><tr><th>序号</th>");
	for (size_t c = 0; c < ncols; c++) {
		fic__sb_printf(&sb, "<th>");
		html_text(&sb, cols[c].zh);
		fic__sb_printf(&sb, "</th>");
	}
	fic__sb_printf(&sb, "</tr></thead>\n<tbody>\n");
	int k = 0;
	cJSON_ArrayForEach(r, rows) {
		fic__sb_printf(&sb, "<tr><td>%d</td>", ++k);
		for (size_t c = 0; c < ncols; c++) {
			const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, cols[c].key));
			fic__sb_printf(&sb, "<td>");
			html_text(&sb, v ? v : "");
			fic__sb_printf(&sb, "</td>");
		}
		fic__sb_printf(&sb, "</tr>\n");
	}
	if (k == 0)
		fic__sb_printf(&sb, "<tr><td colspan=\"%zu\">（本期无记录）</td></tr>\n", ncols + 1);
	fic__sb_printf(&sb, "</tbody>\n</table>\n<p class=\"sign\">协管员（签字）：__________"
	                    "　　审核人（签字）：__________</p>\n</body>\n</html>\n");
	return fic__sb_take(&sb);
}

int fic_register_get(char **out, fic_store *store, int which, const char *month, const char *area,
                     int format)
{
	FIC__BEGIN(out, store);
	bool has_month = false, has_area = false;
	int rc = fic__check_text(month, "month", 7, false, &has_month);
	if (rc == FIC_OK)
		rc = fic__check_text(area, "area", 64, false, &has_area);
	if (rc != FIC_OK)
		return rc;
	if (which != FIC_REGISTER_PATROLS && which != FIC_REGISTER_REPORTS)
		return fic__err(FIC_EINVAL, "which must be FIC_REGISTER_PATROLS or FIC_REGISTER_REPORTS");
	if (format != FIC_REGISTER_JSON && format != FIC_REGISTER_CSV && format != FIC_REGISTER_HTML)
		return fic__err(FIC_EINVAL, "format must be FIC_REGISTER_JSON, _CSV or _HTML");
	/* The period: a month, or this year. */
	char d0[32], d1[32], today[11];
	fic__days_format(fic__local_day(store, fic__now_ms(store)), today);
	int y = atoi(today), m = 0;
	if (has_month) {
		char extra;
		if (sscanf(month, "%4d-%2d%c", &y, &m, &extra) != 2 || strlen(month) != 7 || m < 1 ||
		    m > 12 || y < 2000 || y > 2998)
			return fic__err(FIC_EINVAL, "month is YYYY-MM");
		snprintf(d0, sizeof d0, "%04d-%02d-01", y, m);
		snprintf(d1, sizeof d1, "%04d-%02d-01", m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
	} else {
		snprintf(d0, sizeof d0, "%04d-01-01", y);
		snprintf(d1, sizeof d1, "%04d-01-01", y + 1);
	}
	int64_t day0 = 0, day1 = 0;
	if ((rc = fic__parse_date(d0, "month", &day0)) != FIC_OK ||
	    (rc = fic__parse_date(d1, "month", &day1)) != FIC_OK)
		return rc;
	int64_t off = (int64_t)fic__utc_offset_min(store) * 60000;
	char period[80], made[20];
	if (has_month)
		snprintf(period, sizeof period, "%04d年%d月%s%s", y, m, has_area ? "　" : "",
		         has_area ? area_zh(area) : "");
	else
		snprintf(period, sizeof period, "%04d年%s%s", y, has_area ? "　" : "",
		         has_area ? area_zh(area) : "");
	local_time(store, fic__now_ms(store), made);
	bool patrols = which == FIC_REGISTER_PATROLS;
	cJSON *doc = cJSON_CreateObject(), *rows = NULL;
	bool ok = doc && cJSON_AddStringToObject(doc, "register", patrols ? "patrols" : "reports") &&
	          cJSON_AddStringToObject(doc, "title", patrols ? "卫生监督协管巡查登记表"
	                                                        : "卫生监督协管信息报告登记表") &&
	          cJSON_AddStringToObject(doc, "period", period) &&
	          (!has_month || cJSON_AddStringToObject(doc, "month", month)) &&
	          (!has_area || cJSON_AddStringToObject(doc, "area", area)) &&
	          cJSON_AddStringToObject(doc, "made_at", made) &&
	          (rows = cJSON_AddArrayToObject(doc, "rows")) != NULL;
	if (ok)
		rc = patrols ? patrol_rows(store, rows, d0, d1, has_area ? area : NULL)
		             : report_rows(store, rows, day0 * 86400000 - off, day1 * 86400000 - off,
		                           has_area ? area : NULL);
	if (format == FIC_REGISTER_JSON || !ok || rc != FIC_OK)
		return fic__json_out(out, doc, ok, rc);
	char *text = patrols ? render(doc, patrol_columns, sizeof patrol_columns / sizeof patrol_columns[0],
	                              format)
	                     : render(doc, report_columns, sizeof report_columns / sizeof report_columns[0],
	                              format);
	cJSON_Delete(doc);
	if (text == NULL)
		return fic__err(FIC_ENOMEM, "out of memory writing the register");
	*out = text;
	return FIC_OK;
}
