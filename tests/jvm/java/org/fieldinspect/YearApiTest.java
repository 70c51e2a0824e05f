package org.fieldinspect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The co-inspector's year through the Java API (issue #11): the due list page
 * by page, tasks closed, calls recorded, sites reported, place codes and the
 * scan that starts a visit, registers, activities, samples, notices, the
 * water status, the patrol plan and the SMS fallback — each driven through
 * the real core and its effect checked.
 */
class YearApiTest {
    static final String TIME_SENSITIVE_TIP =
            "{\"source\":\"hotline_12345\",\"ticket_12345\":\"GT-1\",\"subject\":\"illegal_practice\","
            + "\"place\":\"集市东口\",\"description\":\"流动摊点拔牙镶牙\",\"time_sensitive\":\"yes\","
            + "\"verified\":\"yes\"}";

    static Status status(Executable e) {
        return assertThrows(FicException.class, e).status();
    }

    @Test
    void theDueListComesPageByPageWithItsCursor() throws Exception {
        try (Fixture f = new Fixture(false)) {
            Store s = f.store;
            Set<String> names = new HashSet<String>();
            for (int i = 0; i < 5; i++) {
                names.add(f.school("第" + i + "小学").name);
            }
            Map<String, Object> school = Json.map(Json.map(Json.object(s.dueSummaryJson())
                    .get("areas")).get("school"));
            assertEquals(5, Json.number(school, "open_sites", -1));
            assertEquals(5, Json.number(school, "due", -1));

            Set<String> seen = new HashSet<String>();
            DuePage p = s.duePage("school", null, 2);
            assertEquals("school", p.area);
            assertNotNull(p.today);
            assertEquals(2, p.items.size());
            int pages = 1;
            while (true) {
                for (DuePage.Item it : p.items) {
                    assertEquals("school", it.kind);
                    assertNull(it.lastPatrol);
                    assertEquals(0, it.patrolsThisYear);
                    assertTrue(seen.add(it.name), "twice: " + it.name);
                }
                if (p.next == null) {
                    break;
                }
                p = s.duePage("school", p.next, 2);
                pages++;
            }
            assertEquals(3, pages);
            assertEquals(names, seen);
            assertEquals(0, s.duePage("drinking_water", null, 10).items.size());
            assertEquals(Status.EINVAL, status(() -> s.duePage("no_such_area", null, 10)));
            assertEquals(Status.EINVAL, status(() -> s.duePage("school", null, 0)));
            assertEquals(Status.EINVAL, status(() -> s.duePage("school", null, -1)));
            assertEquals(Status.EINVAL, status(() -> s.duePage("school", "not-a-cursor", 2)));
        }
    }

    @Test
    void thePatrolPlanSetsHowOftenAnAreaIsDue() throws Exception {
        try (Fixture f = new Fixture(false)) {
            Store s = f.store;
            assertTrue(s.patrolPlanJson().contains("\"drinking_water\""));
            s.setPatrolPlan("{\"areas\":{\"school\":{\"per_year\":6},"
                    + "\"other.public_place\":{\"title\":\"公共场所卫生𠀋\",\"per_year\":2,"
                    + "\"kinds\":{\"other_venue\":2}}}}");
            String plan = s.patrolPlanJson();
            assertTrue(plan.contains("公共场所卫生𠀋"), plan);
            assertTrue(s.dueSummaryJson().contains("other.public_place"));
            assertEquals(Status.EINVAL, status(() -> s.setPatrolPlan("{\"areas\":{\"nowhere\":{}}}")));
        }
    }

    @Test
    void aTaskCompletedLeavesTheList() throws Exception {
        try (Fixture f = new Fixture(false)) {
            Store s = f.store;
            Site market = s.addSite(new Site(Site.OTHER_VENUE, "青杠场镇集贸市场"), "巡查发现");
            s.fileLead("lead.tip_off", TIME_SENSITIVE_TIP, market.id, 0, 0);
            List<Task> open = s.tasks();
            assertEquals(1, open.size());
            assertEquals(Status.EINVAL, status(() -> s.completeTask(open.get(0).id, null, null)));
            assertEquals(Status.ENOTFOUND, status(() -> s.completeTask("no-such-task", null, "x")));
            s.completeTask(open.get(0).id, null, "线索地已无摊点，群众证实已搬离𠀋");
            assertEquals(0, s.tasks().size());
            assertEquals(Status.ESTATE, status(() -> s.completeTask(open.get(0).id, null, "again")));
        }
    }

    @Test
    void aCallToTheCdcShowsUpInTheLead() throws Exception {
        try (Fixture f = new Fixture()) {
            Store s = f.store;
            f.enroll(); // the lead's personal answers are sealed to the county's key
            String id = s.fileLead("event.foodborne", Fixture.FOODBORNE, null, 0, 0);
            assertEquals(0, s.leads(0).get(0).calledAtMs);
            s.recordLeadCall(id, "phone", 0, "区疾控中心值班员𠀋 023-1234567", "口头报告");
            Lead l = s.leads(0).get(0);
            assertEquals(id, l.id);
            assertTrue(l.calledAtMs > 0);
            assertFalse(l.atRisk);
            String json = s.leadJson(id);
            assertTrue(json.contains("区疾控中心值班员𠀋 023-1234567"), json);
            assertTrue(json.contains("\"calls\""), json);
            assertEquals(Status.EINVAL, status(() -> s.recordLeadCall(id, "pigeon", 0, "x", null)));
            assertEquals(Status.EINVAL, status(() -> s.recordLeadCall(id, "phone", 0, "", null)));
            assertEquals(Status.ENOTFOUND, status(() -> s.recordLeadCall(
                    "01890000-0000-7000-8000-000000000000", "fax", 0, "x", null)));
        }
    }

    @Test
    void aSiteFoundClosedOutsideAnInspectionFilesADraftLead() throws Exception {
        try (Fixture f = new Fixture(false)) {
            Store s = f.store;
            Site school = f.school("𠀋家湾村小");
            String lead = s.fileSiteReport(school.id, Store.FOUND_CLOSED, "已撤并", null);
            assertEquals(Site.CLOSED, s.getSite(school.id).status);
            boolean found = false;
            for (Lead l : s.leads(0)) {
                if (l.id.equals(lead)) {
                    assertEquals("draft", l.state);
                    found = true;
                }
            }
            assertTrue(found);
            assertEquals(Status.EINCOMPLETE, status(() -> s.submitLead(lead)));
            assertEquals(Status.ESTATE, status(() -> s.fileSiteReport(school.id, Store.FOUND_CLOSED,
                    "again", null)));
        }
    }

    @Test
    void aSiteCodeAddedThenScannedStartsAVisitThere() throws Exception {
        try (Fixture f = new Fixture(false)) {
            Store s = f.store;
            Site w = new Site(Site.WATER_RURAL, "𠀋石桥村集中供水站");
            w.legalRep = "张三";
            Site site = s.addSite(w, "本底中没有");
            String url = "https://code.example.cn/place?code=SQ-0001&utm_source=wechat";
            s.addSiteCode(site.id, url, "南门𠀋");
            List<SiteCode> codes = s.siteCodes(site.id);
            assertEquals(1, codes.size());
            assertEquals("南门𠀋", codes.get(0).label);
            assertFalse(codes.get(0).primary);
            PlaceCode pc = Library.parsePlaceCode(url);
            assertEquals(PlaceCode.URL, pc.form);
            assertEquals(codes.get(0).key, pc.key);
            assertEquals("SQ-0001", pc.code);

            // Scanned with other spacing and case: the same site, the scan chained as proof.
            ScanResult r = s.scanVisit("  HTTPS://CODE.example.cn/place?code=SQ-0001 ", true, 29.99,
                    108.11, 8);
            assertEquals(site.id, r.siteId);
            assertEquals("𠀋石桥村集中供水站", r.siteName);
            assertEquals("url", r.codeForm);
            assertEquals(pc.key, r.codeKey);
            assertTrue(r.chainSeq >= 1);
            assertEquals(64, r.hash.length());
            assertEquals(29.99, r.lat, 1e-9);
            assertTrue(r.matchesRegistry);
            String insp = s.startInspection(site.id, "water.field_test", Store.VISIT_UNANNOUNCED,
                    r.scanId);
            assertTrue(s.inspectionJson(insp).contains(r.scanId) || insp.length() == 36);
            assertEquals(Status.ESTATE, status(() -> s.startInspection(site.id, "water.field_test",
                    Store.VISIT_ANNOUNCED, r.scanId)));

            // A licence's text code whose legal representative differs from the registry's.
            String text = "场所名称：𠀋石桥村集中供水站\n法定代表人：李四\n许可证号：渝卫水2026-01";
            s.addSiteCode(site.id, text, null);
            PlaceCode t = Library.parsePlaceCode(text);
            assertEquals(PlaceCode.TEXT, t.form);
            assertEquals("𠀋石桥村集中供水站", t.name);
            assertEquals("李四", t.legalRep);
            ScanResult d = s.scanVisit(text, false, 0, 0, 0);
            assertFalse(d.matchesRegistry);
            assertTrue(Double.isNaN(d.lat));
            List<String> fields = new ArrayList<String>();
            for (ScanResult.Difference x : d.differences) {
                fields.add(x.field);
            }
            assertTrue(fields.contains("legal_rep"), fields.toString());

            // Unknown, removed, another site's, malformed.
            assertEquals(Status.ENOTFOUND, status(() -> s.scanVisit("https://code.example.cn/place?code=NOPE",
                    false, 0, 0, 0)));
            s.removeSiteCode(site.id, url);
            assertEquals(1, s.siteCodes(site.id).size());
            assertEquals(Status.ENOTFOUND, status(() -> s.scanVisit(url, false, 0, 0, 0)));
            Site other = f.school("另一所学校");
            assertEquals(Status.EEXISTS, status(() -> s.addSiteCode(other.id, text, null)));
            assertEquals(Status.EINVAL, status(() -> Library.parsePlaceCode("   ")));
            assertEquals(Status.EINVAL, status(() -> Library.parsePlaceCode("a\u0000b")));
            assertEquals(Status.EINVAL, status(() -> s.scanVisit("  \u3000 ", false, 0, 0, 0)));
        }
    }

    @Test
    void activitiesSamplesNoticesAndTheWaterStatus() throws Exception {
        try (Fixture f = new Fixture(false)) {
            Store s = f.store;
            Activity a = new Activity(Activity.PUBLICITY, "2026-01-05", "饮用水安全宣传𠀋");
            a.channel = "villages";
            a.people = 40;
            a.area = "drinking_water";
            String aid = s.addActivity(a);
            String acts = s.activitiesJson(2026, 0);
            assertTrue(acts.contains(aid) && acts.contains("饮用水安全宣传𠀋"), acts);
            assertEquals(0, Json.maps(Json.parse(s.activitiesJson(2026, Activity.CASE))).size());
            Activity c = new Activity(Activity.CASE, "2026-01-05", "协助查办");
            assertEquals(Status.EINVAL, status(() -> s.addActivity(c)));
            c.caseRef = "石卫水罚〔2026〕1号";
            s.addActivity(c);
            List<Map<String, Object>> cases = Json.maps(Json.parse(s.activitiesJson(2026, Activity.CASE)));
            assertEquals(1, cases.size());
            assertEquals("case", Json.string(cases.get(0), "kind"));
            assertTrue(s.activitiesJson(2026, Activity.CASE).contains("石卫水罚〔2026〕1号"));

            // A supply found in the field: its authority is to be told, then is told.
            Site w = new Site(Site.WATER_RURAL, "𠀋冷水溪供水站");
            w.authority = "石柱县水利局";
            Site site = s.addSite(w, "本底中没有");
            assertEquals("石柱县水利局", s.getSite(site.id).authority);
            List<NoticeDue> due = s.noticesDue();
            assertEquals(1, due.size());
            assertEquals(site.id, due.get(0).siteId);
            assertEquals("new_site", due.get(0).reason);
            assertEquals("石柱县水利局", due.get(0).authority);
            assertEquals(Status.EINVAL, status(() -> s.addAuthorityNotice(site.id, NoticeDue.NEW_SITE,
                    null, "carrier_pigeon", null)));
            assertEquals(36, s.addAuthorityNotice(site.id, NoticeDue.NEW_SITE, null, "phone", "电话告知").length());
            assertEquals(0, s.noticesDue().size());

            // A sample, its failing laboratory result, and the supply's verdict.
            Sample x = new Sample("SZ-2026-001", site.id, "末梢水", "县疾控 王𠀋");
            String sid = s.addSample(x);
            assertEquals(Status.EEXISTS, status(() -> s.addSample(x)));
            assertTrue(s.samplesJson(site.id).contains(sid));
            assertFalse(s.samplesJson(site.id).contains("\"result\""));
            s.setSampleResult("SZ-2026-001", false, "2026-01-09", "菌落总数超标");
            List<Map<String, Object>> samples = Json.maps(Json.parse(s.samplesJson(null)));
            assertEquals(1, samples.size());
            assertEquals("fail", Json.string(samples.get(0), "result"));
            assertEquals("县疾控 王𠀋", Json.string(samples.get(0), "received_by"));
            List<Map<String, Object>> water = Json.maps(Json.parse(s.waterStatusJson()));
            assertEquals(1, water.size());
            assertEquals(site.id, Json.string(water.get(0), "site_id"));
            assertEquals("fail", Json.string(water.get(0), "verdict"));
            assertEquals("red", Json.string(water.get(0), "colour"));
            assertEquals(Status.ENOTFOUND, status(() -> s.setSampleResult("NOPE", true, "2026-01-09", "")));
        }
    }

    @Test
    void theRegistersOfReports() throws Exception {
        try (Fixture f = new Fixture()) {
            Store s = f.store;
            f.enroll();
            String id = s.fileLead("event.foodborne", Fixture.FOODBORNE, null, 0, 0);
            String json = s.register(Store.REGISTER_REPORTS, null, null, Store.REGISTER_JSON);
            assertTrue(json.contains("\"reports\"") && json.contains(id), json);
            String csv = s.register(Store.REGISTER_REPORTS, null, null, Store.REGISTER_CSV);
            assertEquals('\uFEFF', csv.charAt(0));
            assertTrue(csv.contains("食源性疾病") && csv.contains("\r\n"), csv);
            assertEquals(1, Json.maps(Json.object(json).get("rows")).size());
            assertTrue(s.register(Store.REGISTER_PATROLS, null, "school", Store.REGISTER_HTML)
                    .contains("<html"));
            String other = s.register(Store.REGISTER_REPORTS, "2020-01", null, Store.REGISTER_JSON);
            assertFalse(other.contains(id), other);
            assertEquals(Status.EINVAL, status(() -> s.register(9, null, null, Store.REGISTER_JSON)));
            assertEquals(Status.EINVAL, status(() -> s.register(Store.REGISTER_REPORTS, "2026-13", null,
                    Store.REGISTER_JSON)));
        }
    }

    @Test
    void anUrgentLeadGoesBySmsAndTheCountysReceiptDeliversIt() throws Exception {
        try (Fixture f = new Fixture()) {
            Store s = f.store;
            f.enroll();
            String id = s.fileLead("event.foodborne", Fixture.FOODBORNE, null, 0, 0);
            // No gateway number yet: the core says so.
            assertEquals(Status.ESTATE, status(() -> s.leadSms(id)));
            s.setSetting("sms_gateway_number", "10655000123");
            s.setSetting("sms_fallback_minutes", "120");
            SmsDue due = s.smsDue();
            assertEquals(120, due.fallbackMinutes);
            assertEquals("10655000123", due.recipient);
            assertEquals(1, due.leads.size());
            assertEquals(id, due.leads.get(0).leadId);
            assertTrue(due.leads.get(0).remainingMs > 0);

            LeadSms m = s.leadSms(id);
            assertEquals(id, m.leadId);
            assertEquals("10655000123", m.recipient);
            assertFalse(m.parts.isEmpty());
            assertTrue(m.frameBytes > 0);
            for (String p : m.parts) {
                assertTrue(!p.isEmpty() && p.length() <= 160, p);
            }
            assertEquals(m.parts, s.leadSms(id).parts); // the same parts each time
            s.smsSent(id);
            assertEquals(0, s.smsDue().leads.size());
            assertTrue(s.leadJson(id).contains("\"sms\""));

            assertEquals(Status.EINVAL, status(() -> s.smsReceipt(id, "hello")));
            String reply = "";
            for (String p : m.parts) {
                reply = f.server.smsIn(p);
            }
            assertTrue(reply.startsWith("FI1 OK"), reply);
            String forged = reply.substring(0, reply.length() - 1)
                    + (reply.endsWith("A") ? "B" : "A");
            assertNotEquals(Status.OK, status(() -> s.smsReceipt(id, forged)));
            assertEquals("queued", s.leads(0).get(0).state);
            s.smsReceipt(id, reply);
            assertEquals("delivered", s.leads(0).get(0).state);
            assertEquals(Status.ESTATE, status(() -> s.leadSms(id)));
        }
    }

    @Test
    void theNewCallsRefuseASecondThreadAndAClosedStore() throws Exception {
        try (Fixture f = new Fixture(false)) {
            Store s = f.store;
            assertFalse(s.isReadOnly());
            Site site = f.school("一小");
            // Another thread inside a call (an enrolment held in the transport): refused, not raced.
            CountDownLatch inside = new CountDownLatch(1), release = new CountDownLatch(1);
            f.opts.transport = req -> {
                inside.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                throw new FicException(Status.ENETWORK, "no network in this test");
            };
            Thread t = new Thread(() -> {
                try {
                    s.enroll(f.opts, "ABCDEF12", "测试机");
                } catch (FicException e) {
                    // expected: the transport fails
                }
            });
            t.start();
            assertTrue(inside.await(10, TimeUnit.SECONDS));
            assertEquals(Status.EBUSY, status(() -> s.duePage("school", null, 10)));
            assertEquals(Status.EBUSY, status(() -> s.completeTask("t", null, "x")));
            assertEquals(Status.EBUSY, status(() -> s.siteCodes(site.id)));
            assertEquals(Status.EBUSY, status(() -> s.addActivity(new Activity(Activity.PUBLICITY,
                    "2026-01-05", "宣传"))));
            assertEquals(Status.EBUSY, status(() -> s.smsDue()));
            release.countDown();
            t.join();
            assertEquals(1, s.duePage("school", null, 10).items.size()); // usable again
            s.close();
            assertEquals(Status.EINVAL, status(() -> s.isReadOnly()));
            assertEquals(Status.EINVAL, status(() -> s.duePage("school", null, 10)));
            assertEquals(Status.EINVAL, status(() -> s.scanVisit("x", false, 0, 0, 0)));
            assertEquals(Status.EINVAL, status(() -> s.leadSms("x")));
            assertEquals(Status.EINVAL, status(() -> s.addSample(new Sample("a", site.id, "b", "c"))));
            assertEquals(Status.EINVAL, status(() -> s.noticesDue()));
        }
    }
}
