package org.fieldinspect;

import java.io.File;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * An open store (fic_store, fieldinspect/store.h): everything the inspector's
 * device knows, in one SQLite file, durably — a call that writes and returns
 * has committed (WAL, synchronous=FULL). Every method mirrors one C function
 * of the public API; its documentation is in the C header named there.
 * <p>
 * Errors: every method throws {@link FicException} with the core's status
 * and message. Text crosses as UTF-8 (U+2000B 𠀋, emoji and every other
 * character outside the BMP arrive intact); a NUL inside text is refused
 * ({@link Status#EINVAL}): the core's text cannot hold it.
 * <p>
 * Threads: one thread at a time, as the C handle. A call made while another
 * thread is inside a call on the same store throws {@link Status#EBUSY}
 * instead of racing; a call after {@link #close()} throws
 * {@link Status#EINVAL}. Open one Store per thread for concurrency (a sync
 * service and the UI each have their own; SQLite WAL lets them work at
 * once).
 */
public final class Store implements AutoCloseable {
    static {
        Native.load();
    }

    /** Options of {@link #open} (fic_store_options and the Android platform). */
    public static final class Options {
        /** The inspector's account id, in the audit log of every change. */
        public String actor;
        /** How long a writer waits for another connection's lock (0: 5000 ms). */
        public int busyTimeoutMs;
        /** The app's private directory (Context.getFilesDir()) for relative paths. */
        public File dataDir;
        /** The logcat tag (null: "fieldinspect"). */
        public String logTag;
        /** The least severe level logged: 0 debug, 1 info, 2 warn (default), 3 error, 4 none. */
        public int logLevel = 2;
        /**
         * Where the store keeps its bearer token, apart from its database (the
         * Android Keystore, in the app); null: a 0600 file beside the store.
         */
        public SecretStore secrets;
    }

    private final Object guard = new Object();
    private Thread user;
    private long handle;

    private Store(long handle) {
        this.handle = handle;
    }

    /** Open (creating if needed) the store at {@code path} (fic_store_open). */
    public static Store open(String path, Options o) {
        if (o == null) {
            o = new Options();
        }
        String dir = o.dataDir == null ? null : o.dataDir.getAbsolutePath();
        return new Store(Native.storeOpen(Rows.utf8(path), Rows.utf8(o.actor), o.busyTimeoutMs,
                Rows.utf8(dir), Rows.utf8(o.logTag), o.logLevel, o.secrets));
    }

    /* The handle for one call by this thread: refused when closed or in use. */
    private long enter() {
        synchronized (guard) {
            if (user != null) {
                throw new FicException(Status.EBUSY, user == Thread.currentThread()
                        ? "the store is already in a call on this thread (a sync listener must not call it)"
                        : "the store is in use by another thread: one thread at a time per store");
            }
            if (handle == 0) {
                throw new FicException(Status.EINVAL, "the store is closed");
            }
            user = Thread.currentThread();
            return handle;
        }
    }

    private void exit() {
        synchronized (guard) {
            user = null;
        }
    }

    /** Close the store (fic_store_close). Idempotent; refused while another thread is in a call. */
    @Override
    public void close() {
        synchronized (guard) {
            if (user != null) {
                throw new FicException(Status.EBUSY, "the store is in use by another thread");
            }
            if (handle != 0) {
                Native.storeClose(handle);
                handle = 0;
            }
        }
    }

    public boolean isClosed() {
        synchronized (guard) {
            return handle == 0;
        }
    }

    private interface Call<T> {
        T run(long h);
    }

    private <T> T call(Call<T> c) {
        long h = enter();
        try {
            return c.run(h);
        } finally {
            exit();
        }
    }

    private static List<Site> sites(Object[] rows) {
        Rows r = new Rows(rows);
        int n = (int) r.num();
        List<Site> out = new ArrayList<Site>(n);
        for (int i = 0; i < n; i++) {
            Site s = Site.read(r);
            s.distanceM = r.dbl();
            out.add(s);
        }
        return Collections.unmodifiableList(out);
    }

    /* ---- store.h ---- */

    /** The device id (fic_store_device_id). */
    public String deviceId() {
        return call(h -> Rows.text(Native.storeDeviceId(h)));
    }

    /** Full integrity check (fic_store_check); throws ECORRUPT naming the first problem. */
    public void check() {
        call(h -> {
            Native.storeCheck(h);
            return null;
        });
    }

    /** A new UUIDv7 (fic_store_new_id). */
    public String newId() {
        return call(h -> Rows.text(Native.storeNewId(h)));
    }

    /**
     * True when the store was opened for reading only because the disk was
     * full (fic_store_read_only): every write throws EREADONLY until space is
     * freed and the store opened again. Say so to the inspector.
     */
    public boolean isReadOnly() {
        return call(h -> Native.storeReadOnly(h));
    }

    /** Counts of what is waiting (fic_store_stats_get). */
    public StoreStats stats() {
        return call(h -> new StoreStats(Native.storeStatsGet(h)));
    }

    /** Audit entries of one record, or the newest {@code limit} of all (entityId null). */
    public List<AuditEntry> auditLog(String entityId, long limit) {
        return call(h -> {
            Rows r = new Rows(Native.auditListGet(h, Rows.utf8(entityId), limit));
            List<AuditEntry> out = new ArrayList<AuditEntry>();
            while (r.more()) {
                out.add(new AuditEntry(r));
            }
            return out;
        });
    }

    /* ---- site.h ---- */

    /** Add a site found in the field (fic_site_add); returns it as stored. */
    public Site addSite(Site s, String reason) {
        return call(h -> Site.read(new Rows(Native.siteAdd(h, s.strs(), s.ints(), s.dbls(),
                Rows.utf8(reason)))));
    }

    /** Replace a site's facts (fic_site_update); {@code reason} is required. */
    public Site updateSite(Site s, String reason) {
        return call(h -> Site.read(new Rows(Native.siteUpdate(h, s.strs(), s.ints(), s.dbls(),
                Rows.utf8(reason)))));
    }

    /** Mark a site closed (fic_site_close). */
    public void closeSite(String id, String reason) {
        call(h -> {
            Native.siteClose(h, Rows.utf8(id), Rows.utf8(reason));
            return null;
        });
    }

    /** One site (fic_site_get); ENOTFOUND when there is none. */
    public Site getSite(String id) {
        return call(h -> Site.read(new Rows(Native.siteGet(h, Rows.utf8(id)))));
    }

    /** The site whose QR place code carries {@code payload} (fic_site_find_by_place_code). */
    public Site findSiteByPlaceCode(String payload) {
        return call(h -> Site.read(new Rows(Native.siteFindByPlaceCode(h, Rows.utf8(payload)))));
    }

    /** Sites with this credit code (fic_site_find_by_credit_code). */
    public List<Site> findSitesByCreditCode(String code) {
        return call(h -> sites(Native.siteFindByCreditCode(h, Rows.utf8(code))));
    }

    /** Sites of a kind (0: any) whose name contains {@code namePart} (fic_site_search). */
    public List<Site> searchSites(int kind, String namePart, long limit) {
        return call(h -> sites(Native.siteSearch(h, kind, Rows.utf8(namePart), limit)));
    }

    /** Sites within {@code radiusM} of a point, nearest first, with distanceM (fic_site_near). */
    public List<Site> sitesNear(double lat, double lon, double radiusM, long limit) {
        return call(h -> sites(Native.siteNear(h, lat, lon, radiusM, limit)));
    }

    /* ---- inspection.h ---- */

    /** Checklists and forms (fic_checklist_list_get); flags: {@link ChecklistInfo#PATROLS} … */
    public List<ChecklistInfo> checklists(int siteKind, int flags) {
        return call(h -> {
            Rows r = new Rows(Native.checklistListGet(h, siteKind, flags));
            List<ChecklistInfo> out = new ArrayList<ChecklistInfo>();
            while (r.more()) {
                out.add(new ChecklistInfo(r));
            }
            return out;
        });
    }

    /**
     * A checklist's definition (fic_checklist_get_json; version 0: current), in
     * the format of docs/checklist-format.md and schema/checklist.schema.json.
     */
    public String checklistJson(String id, int version) {
        return call(h -> Rows.text(Native.checklistGetJson(h, Rows.utf8(id), version)));
    }

    /** Install a checklist definition (fic_checklist_install). */
    public void installChecklist(String json) {
        call(h -> {
            Native.checklistInstall(h, Rows.utf8(json));
            return null;
        });
    }

    /** Start an inspection (fic_inspection_start); returns its id. */
    public String startInspection(String siteId, String checklistId) {
        return call(h -> Rows.text(Native.inspectionStart(h, Rows.utf8(siteId), Rows.utf8(checklistId))));
    }

    /** Answer (null: clear) an item (fic_inspection_answer). */
    public void answer(String inspectionId, String itemId, String value) {
        call(h -> {
            Native.inspectionAnswer(h, Rows.utf8(inspectionId), Rows.utf8(itemId), Rows.utf8(value));
            return null;
        });
    }

    /** Attach (null: remove) a note to an item (fic_inspection_note). */
    public void note(String inspectionId, String itemId, String note) {
        call(h -> {
            Native.inspectionNote(h, Rows.utf8(inspectionId), Rows.utf8(itemId), Rows.utf8(note));
            return null;
        });
    }

    /** fic_site_finding values for {@link #reportSite}. */
    public static final int FOUND_CLOSED = 1, FOUND_CHANGED = 2;

    /** A site finding during an inspection (fic_inspection_report_site); changes for CHANGED. */
    public void reportSite(String inspectionId, int finding, String reason, Site changes) {
        call(h -> {
            Native.inspectionReportSite(h, Rows.utf8(inspectionId), finding, Rows.utf8(reason),
                    changes == null ? null : changes.strs(), changes == null ? null : changes.ints(),
                    changes == null ? null : changes.dbls());
            return null;
        });
    }

    /**
     * Report a site found closed, or whose facts differ from the registry,
     * outside an inspection (fic_site_report): returns the site-status lead,
     * a draft until its proof photo is attached ({@link Photo#LEAD}) and it
     * is submitted. {@code changes} (for FOUND_CHANGED) must have the site's id.
     */
    public String fileSiteReport(String siteId, int finding, String reason, Site changes) {
        return call(h -> Rows.text(Native.siteReport(h, Rows.utf8(siteId), finding,
                Rows.utf8(reason), changes == null ? null : changes.strs(),
                changes == null ? null : changes.ints(), changes == null ? null : changes.dbls())));
    }

    /** fic_visit_mode values for {@link #startInspection(String, String, int, String)}. */
    public static final int VISIT_UNSAID = 0, VISIT_ANNOUNCED = 1, VISIT_UNANNOUNCED = 2;

    /**
     * Start an inspection with options (fic_inspection_start_opts): 明查
     * ({@link #VISIT_ANNOUNCED}) or 暗访 ({@link #VISIT_UNANNOUNCED}), and the
     * scan of the site's code that starts it ({@link ScanResult#scanId}, or
     * null). EINVAL for a scan of another site; ESTATE when the scan already
     * started a visit.
     */
    public String startInspection(String siteId, String checklistId, int visitMode, String scanId) {
        return call(h -> Rows.text(Native.inspectionStartOpts(h, Rows.utf8(siteId),
                Rows.utf8(checklistId), visitMode, Rows.utf8(scanId))));
    }

    /**
     * The live state of an inspection (fic_inspection_get_json): a JSON object
     * with the items that apply, their answers and notes, which are abnormal
     * and why, the required items still unanswered and the abnormal items
     * still needing a photo (the schema is documented in inspection.h).
     */
    public String inspectionJson(String inspectionId) {
        return call(h -> Rows.text(Native.inspectionGetJson(h, Rows.utf8(inspectionId))));
    }

    /** Finish (fic_inspection_finish): EINCOMPLETE lists what is missing. */
    public FinishSummary finishInspection(String inspectionId) {
        return call(h -> new FinishSummary(Rows.text(Native.inspectionFinish(h, Rows.utf8(inspectionId)))));
    }

    /** fic_inspection_opinion formats. */
    public static final int OPINION_TEXT = 1, OPINION_JSON = 2;

    /** The inspection opinion (巡查意见) of a finished inspection, as text or JSON. */
    public String opinion(String inspectionId, int format) {
        return call(h -> Rows.text(Native.inspectionOpinion(h, Rows.utf8(inspectionId), format)));
    }

    /* ---- lead.h ---- */

    /**
     * File a lead from an event or tip-off form (fic_lead_file): answers as a
     * JSON object {item id: answer}; discoveredAtMs 0 = now; flags 0 or
     * {@link Lead#DRAFT}. Returns the lead id.
     */
    public String fileLead(String formId, String answersJson, String siteId, long discoveredAtMs,
                           int flags) {
        return call(h -> Rows.text(Native.leadFile(h, Rows.utf8(formId), Rows.utf8(answersJson),
                Rows.utf8(siteId), discoveredAtMs, flags)));
    }

    /** Submit a draft lead (fic_lead_submit): frozen, chained and queued. */
    public void submitLead(String leadId) {
        call(h -> {
            Native.leadSubmit(h, Rows.utf8(leadId));
            return null;
        });
    }

    /** Correct a submitted lead with a new one that references it (fic_lead_correct). */
    public String correctLead(String leadId, String note) {
        return call(h -> Rows.text(Native.leadCorrect(h, Rows.utf8(leadId), Rows.utf8(note))));
    }

    /** All leads, urgent first by time left on the two-hour clock (fic_lead_list_get). */
    public List<Lead> leads(long limit) {
        return call(h -> {
            Rows r = new Rows(Native.leadListGet(h, limit));
            List<Lead> out = new ArrayList<Lead>();
            while (r.more()) {
                out.add(new Lead(r));
            }
            return out;
        });
    }

    /** One lead with its content, as JSON (fic_lead_get_json). */
    public String leadJson(String leadId) {
        return call(h -> Rows.text(Native.leadGetJson(h, Rows.utf8(leadId))));
    }

    /** Open tasks ordered by due date (fic_task_list_json). */
    public List<Task> tasks() {
        return call(h -> {
            Object v = Json.parse(Rows.text(Native.taskListJson(h)));
            List<Task> out = new ArrayList<Task>();
            if (v instanceof List) {
                for (Object o : (List<?>) v) {
                    if (o instanceof Map) {
                        @SuppressWarnings("unchecked")
                        Map<String, Object> m = (Map<String, Object>) o;
                        out.add(new Task(m));
                    }
                }
            }
            return out;
        });
    }

    /**
     * The due list (fic_due_json): a JSON object per service area of the open
     * sites with fewer than the required patrols this year, and the schools
     * not yet visited in the first month of the semester (schema in lead.h).
     */
    public String dueJson() {
        return call(h -> Rows.text(Native.dueJson(h)));
    }

    /**
     * The due list's counts per area and the semester's (fic_due_summary_json),
     * in time that does not grow with the registry, as JSON
     * (schema/api/due_summary.schema.json): {"today", "patrols_required_per_year",
     * "areas": {area: {title, per_year, open_sites, due, not_patrolled_this_year}},
     * "semester"?: {start, first_month_ends, schools_not_visited, overdue}}.
     */
    public String dueSummaryJson() {
        return call(h -> Rows.text(Native.dueSummaryJson(h)));
    }

    /**
     * One page of an area's due sites (fic_due_page_json): {@code area} one of
     * drinking_water, school, medical_blood, mch, occupational, a county area
     * or school_semester; {@code cursor} null for the first page, else the
     * previous page's {@link DuePage#next}; {@code limit} 1..500.
     */
    public DuePage duePage(String area, String cursor, int limit) {
        return call(h -> new DuePage(Json.map(Json.parse(Rows.text(Native.duePageJson(h,
                Rows.utf8(area), Rows.utf8(cursor), limit))))));
    }

    /**
     * Complete an open re-inspection task (fic_task_complete) with the
     * finished inspection that did it (or null) and a note (required without
     * an inspection). ESTATE when the task is not open.
     */
    public void completeTask(String taskId, String inspectionId, String note) {
        call(h -> {
            Native.taskComplete(h, Rows.utf8(taskId), Rows.utf8(inspectionId), Rows.utf8(note));
            return null;
        });
    }

    /**
     * Record the phone or fax call that reported a lead (fic_lead_call_record):
     * {@code method} "phone" or "fax", {@code calledAtMs} 0 = now, to whom
     * (the CDC's duty officer). A lead called in by its deadline is no longer
     * at risk.
     */
    public void recordLeadCall(String leadId, String method, long calledAtMs, String toWhom,
                               String note) {
        call(h -> {
            Native.leadCallRecord(h, Rows.utf8(leadId), Rows.utf8(method), calledAtMs,
                    Rows.utf8(toWhom), Rows.utf8(note));
            return null;
        });
    }

    /**
     * The patrol plan in force as JSON (fic_patrol_plan_json,
     * schema/api/patrol_plan.schema.json): {"origin", "areas": {area: {title,
     * per_year, builtin, kinds}}}.
     */
    public String patrolPlanJson() {
        return call(h -> Rows.text(Native.storeJson(h, Native.DOC_PATROL_PLAN)));
    }

    /** Set the patrol plan on a device the county has sent none to (fic_patrol_plan_set). */
    public void setPatrolPlan(String json) {
        call(h -> {
            Native.patrolPlanSet(h, Rows.utf8(json));
            return null;
        });
    }

    /** Indicators for a year (0: this year) as JSON (fic_stats_json, schema in lead.h). */
    public String statsJson(int year) {
        return call(h -> Rows.text(Native.statsJson(h, year)));
    }

    /** Set a setting ("utc_offset_minutes", "semester_starts") (fic_setting_set). */
    public void setSetting(String key, String value) {
        call(h -> {
            Native.settingSet(h, Rows.utf8(key), Rows.utf8(value));
            return null;
        });
    }

    /** A setting's value, or its default (fic_setting_get). */
    public String getSetting(String key) {
        return call(h -> Rows.text(Native.settingGet(h, Rows.utf8(key))));
    }

    /* ---- visit.h ---- */

    /**
     * Give a site one more code (fic_site_code_add; 一门一码), kept by its
     * key; {@code label} ("南门") may be null. EEXISTS when another site holds it.
     */
    public void addSiteCode(String siteId, String payload, String label) {
        call(h -> {
            Native.siteCodeAdd(h, Rows.utf8(siteId), Rows.utf8(payload), Rows.utf8(label));
            return null;
        });
    }

    /** Take a code from a site (fic_site_code_remove; not its place_code field). */
    public void removeSiteCode(String siteId, String payload) {
        call(h -> {
            Native.siteCodeRemove(h, Rows.utf8(siteId), Rows.utf8(payload));
            return null;
        });
    }

    /** A site's codes (fic_site_codes_json). */
    public List<SiteCode> siteCodes(String siteId) {
        return call(h -> {
            List<SiteCode> out = new ArrayList<SiteCode>();
            for (Map<String, Object> m : Json.maps(Json.parse(Rows.text(
                    Native.siteCodesJson(h, Rows.utf8(siteId)))))) {
                out.add(new SiteCode(m));
            }
            return Collections.unmodifiableList(out);
        });
    }

    /**
     * Scan a site's posted code at the door (fic_visit_scan): recorded with
     * the position (when {@code hasLocation}) and trusted time in the hash
     * chain as proof of presence. ENOTFOUND when no site holds the code (add
     * it to one, or add the site); ESTATE for a closed site.
     */
    public ScanResult scanVisit(String payload, boolean hasLocation, double lat, double lon,
                                double accuracyM) {
        return call(h -> new ScanResult(Json.map(Json.parse(Rows.text(Native.visitScan(h,
                Rows.utf8(payload), hasLocation, lat, lon, accuracyM))))));
    }

    /* ---- records.h ---- */

    /** Registers (fic_register_get): 巡查登记表 and 信息报告登记表. */
    public static final int REGISTER_PATROLS = 1, REGISTER_REPORTS = 2;
    /** Register formats: JSON (schema/api/register.schema.json), CSV (UTF-8, BOM), printable HTML. */
    public static final int REGISTER_JSON = 1, REGISTER_CSV = 2, REGISTER_HTML = 3;

    /**
     * A register (fic_register_get) of a month ("YYYY-MM"; null: this year)
     * and a service area (null: all), as JSON ({register, title, period,
     * month?, area?, made_at, rows}: schema/api/register.schema.json), CSV or HTML.
     */
    public String register(int which, String month, String area, int format) {
        return call(h -> Rows.text(Native.registerGet(h, which, Rows.utf8(month), Rows.utf8(area),
                format)));
    }

    /** Record publicity, training or a case assisted (fic_activity_add); returns its id. */
    public String addActivity(Activity a) {
        return call(h -> Rows.text(Native.activityAdd(h, a.kind, a.people, a.strs())));
    }

    /**
     * The activities of a year (0: this year) of a kind (0: all), newest first,
     * with their photos' count, as JSON (fic_activity_list_json;
     * schema/api/activity_list.schema.json).
     */
    public String activitiesJson(int year, int kind) {
        return call(h -> Rows.text(Native.activityListJson(h, year, kind)));
    }

    /** Record a water sample (fic_sample_add); returns its id. EEXISTS: the number is used. */
    public String addSample(Sample x) {
        return call(h -> Rows.text(Native.sampleAdd(h, x.takenAtMs, x.strs())));
    }

    /**
     * The laboratory's result of a sample (fic_sample_result_set): passed or
     * failed, the report's date (YYYY-MM-DD) and its words; replaces an
     * earlier one. A failed sample makes the supply's verdict fail.
     */
    public void setSampleResult(String sampleNo, boolean passed, String reportedOn, String detail) {
        call(h -> {
            Native.sampleResultSet(h, Rows.utf8(sampleNo), passed, Rows.utf8(reportedOn),
                    Rows.utf8(detail));
            return null;
        });
    }

    /**
     * Samples of a site (null: all), newest first, as JSON
     * (fic_sample_list_json; schema/api/sample_list.schema.json).
     */
    public String samplesJson(String siteId) {
        return call(h -> Rows.text(Native.sampleListJson(h, Rows.utf8(siteId))));
    }

    /**
     * Record that a site's competent authority was told (fic_authority_notice_add):
     * {@code reason} a {@link NoticeDue} constant, {@code authority} null for the
     * site's own, {@code method} "phone", "letter", "in_person" or "online".
     */
    public String addAuthorityNotice(String siteId, int reason, String authority, String method,
                                     String note) {
        return call(h -> Rows.text(Native.authorityNoticeAdd(h, Rows.utf8(siteId), reason,
                Rows.utf8(authority), Rows.utf8(method), Rows.utf8(note))));
    }

    /** The supplies and schools whose authority is still to be told (fic_authority_notices_due_json). */
    public List<NoticeDue> noticesDue() {
        return call(h -> {
            List<NoticeDue> out = new ArrayList<NoticeDue>();
            for (Map<String, Object> m : Json.maps(Json.parse(Rows.text(
                    Native.storeJson(h, Native.DOC_NOTICES_DUE))))) {
                out.add(new NoticeDue(m));
            }
            return Collections.unmodifiableList(out);
        });
    }

    /**
     * Each water supply's latest verdict, the colour its public code should
     * show and the one the county publishes, flagged when published blue but
     * failing, as JSON (fic_water_status_json; schema/api/water_status.schema.json).
     */
    public String waterStatusJson() {
        return call(h -> Rows.text(Native.storeJson(h, Native.DOC_WATER_STATUS)));
    }

    /* ---- sms.h ---- */

    /**
     * The SMS of a submitted urgent lead not yet delivered (fic_lead_sms): the
     * parts and the gateway's number. ESTATE (the message says which) for a
     * lead that is not urgent or delivered already, a device enrolled without
     * an SMS key, no "sms_gateway_number" setting.
     */
    public LeadSms leadSms(String leadId) {
        return call(h -> new LeadSms(new Rows(Native.leadSms(h, Rows.utf8(leadId)))));
    }

    /** Record that every part of the lead's SMS was sent (fic_lead_sms_sent). */
    public void smsSent(String leadId) {
        call(h -> {
            Native.leadSmsSent(h, Rows.utf8(leadId));
            return null;
        });
    }

    /**
     * The county's confirmation of the lead's SMS, as received or pasted
     * (fic_lead_sms_receipt): the lead becomes delivered. EINVAL for a
     * malformed text, another lead's or the county's refusal ("FI1 ERR …");
     * EAUTH when it does not verify with this device's SMS key.
     */
    public void smsReceipt(String leadId, String text) {
        call(h -> {
            Native.leadSmsReceipt(h, Rows.utf8(leadId), Rows.utf8(text));
            return null;
        });
    }

    /** The urgent leads that should go by SMS now (fic_lead_sms_due_json). */
    public SmsDue smsDue() {
        return call(h -> new SmsDue(Json.map(Json.parse(Rows.text(
                Native.storeJson(h, Native.DOC_SMS_DUE))))));
    }

    /* ---- photo.h ---- */

    /** Attach a JPEG held in memory (fic_photo_add_buffer); returns the photo id. */
    public String addPhoto(int owner, String ownerId, String itemId, byte[] jpeg, Photo.Options o) {
        return call(h -> Rows.text(Native.photoAddBuffer(h, owner, Rows.utf8(ownerId),
                Rows.utf8(itemId), jpeg, o == null ? null : o.ints(), o == null ? null : o.dbls())));
    }

    /** Attach the JPEG file at {@code path} (fic_photo_add_file); returns the photo id. */
    public String addPhotoFile(int owner, String ownerId, String itemId, String path, Photo.Options o) {
        return call(h -> Rows.text(Native.photoAddFile(h, owner, Rows.utf8(ownerId),
                Rows.utf8(itemId), Rows.utf8(path), o == null ? null : o.ints(),
                o == null ? null : o.dbls())));
    }

    /** A stored photo (fic_photo_get). */
    public Photo getPhoto(String photoId) {
        return call(h -> new Photo(new Rows(Native.photoGet(h, Rows.utf8(photoId)))));
    }

    /* ---- evidence.h ---- */

    /**
     * Recompute every hash and check the chain (fic_evidence_verify). Problems
     * are in the report ({@code ok} false), not thrown.
     */
    public EvidenceReport verifyEvidence() {
        return call(h -> new EvidenceReport(Rows.text(Native.evidenceVerify(h))));
    }

    /** The clocks and trusted time now (fic_time_now). */
    public TrustedTime timeNow() {
        return call(h -> new TrustedTime(new Rows(Native.timeNow(h))));
    }

    /** Record a contact with a trusted clock (fic_time_contact). */
    public void timeContact(long serverMs, long rttMs) {
        call(h -> {
            Native.timeContact(h, serverMs, rttMs);
            return null;
        });
    }

    /* ---- sync.h ---- */

    private interface SyncCall {
        long[] run(long h, long cancel);
    }

    private SyncReport sync(SyncOptions o, SyncCall c) {
        if (o == null) {
            throw new FicException(Status.EINVAL, "sync options are required");
        }
        Cancellation cancel = o.cancel;
        long ch = cancel == null ? 0 : cancel.acquire();
        try {
            long[] v = call(h -> c.run(h, ch));
            SyncReport r = new SyncReport(v);
            if (v[0] != 0) {
                throw Native.lastError(r);
            }
            return r;
        } finally {
            if (cancel != null) {
                cancel.release();
            }
        }
    }

    /** Enrol the device with a one-time code (fic_sync_enroll). */
    public void enroll(SyncOptions o, String code, String deviceName) {
        if (o == null) {
            throw new FicException(Status.EINVAL, "sync options are required");
        }
        sync(o, (h, c) -> Native.syncEnroll(h, o.transport, Rows.utf8(o.serverUrl), c,
                Rows.utf8(code), Rows.utf8(deviceName), o.limits()));
    }

    /** The county's name if the device is enrolled, else null (fic_sync_enrolled). */
    public String enrolledCounty() {
        return call(h -> Rows.text(Native.syncEnrolled(h)));
    }

    /**
     * Leave the county on purpose (fic_sync_unenroll): forget the token, the
     * county, its server and the pinned county key — the only way the device
     * accepts another county key at its next enrolment.
     */
    public void unenroll() {
        call(h -> {
            Native.syncUnenroll(h);
            return null;
        });
    }

    /**
     * One sync pass (fic_sync_run): push (urgent leads first, then records,
     * audit, photos) and pull. A failure throws FicException carrying the
     * report ({@link FicException#syncReport()}).
     */
    public SyncReport syncRun(SyncOptions o) {
        return sync(o, (h, c) -> Native.syncRun(h, o.transport, Rows.utf8(o.serverUrl), c,
                o.listener, o.noGzip, o.limits()));
    }

    /** Push only (fic_sync_push). */
    public SyncReport syncPush(SyncOptions o) {
        return sync(o, (h, c) -> Native.syncPush(h, o.transport, Rows.utf8(o.serverUrl), c,
                o.listener, o.noGzip, o.limits()));
    }

    /** Pull only (fic_sync_pull). */
    public SyncReport syncPull(SyncOptions o) {
        return sync(o, (h, c) -> Native.syncPull(h, o.transport, Rows.utf8(o.serverUrl), c,
                o.listener, o.noGzip, o.limits()));
    }

    /**
     * The network came back or went (fic_sync_network_changed): call it from
     * the ConnectivityManager callback, then run a pass.
     */
    public void networkChanged(boolean available) {
        call(h -> {
            Native.syncNetworkChanged(h, available);
            return null;
        });
    }

    /** What the server refused, oldest first (fic_sync_rejections_get). */
    public List<SyncRejection> syncRejections() {
        return call(h -> {
            Rows r = new Rows(Native.syncRejectionsGet(h));
            List<SyncRejection> out = new ArrayList<SyncRejection>();
            while (r.more()) {
                out.add(new SyncRejection(r));
            }
            return out;
        });
    }
}
