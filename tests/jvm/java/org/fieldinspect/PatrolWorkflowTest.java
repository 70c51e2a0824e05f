package org.fieldinspect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The whole patrol day through the Java API, the Java transport and the real
 * reference server: enrol, a site found in the field, an inspection with a
 * finding and its photo, an urgent lead, sync, evidence verified.
 */
class PatrolWorkflowTest {
    @Test
    void aPatrolDayReachesTheCountyThroughJava() throws Exception {
        try (Fixture f = new Fixture()) {
            Store s = f.store;
            assertEquals(null, s.enrolledCounty());
            f.enroll();
            assertEquals(Fixture.COUNTY, s.enrolledCounty());
            assertEquals(36, s.deviceId().length());

            // A rural water plant found in the field; its name has U+2000B (𠀋) and an emoji.
            Site w = new Site(Site.WATER_RURAL, "𠀋石桥村集中供水站💧");
            w.address = "重庆市石柱县𠀋乡";
            w.hasLocation = true;
            w.lat = 29.99;
            w.lon = 108.11;
            Site site = s.addSite(w, "本底中没有");
            assertEquals("𠀋石桥村集中供水站💧", site.name);
            assertEquals(Site.FROM_FIELD, site.origin);
            assertEquals(1, site.revision);
            assertEquals(site.name, s.getSite(site.id).name);
            assertEquals(1, s.sitesNear(29.99, 108.11, 100, 0).size());
            assertTrue(s.sitesNear(29.99, 108.11, 100, 0).get(0).distanceM < 1);
            assertEquals(1, s.searchSites(Site.WATER_RURAL, "𠀋石桥", 0).size());
            assertTrue(site.toJson().contains("𠀋石桥村集中供水站💧"));

            // The checklists that fit the site.
            List<String> ids = new ArrayList<String>();
            for (ChecklistInfo c : s.checklists(Site.WATER_RURAL, ChecklistInfo.PATROLS)) {
                ids.add(c.id);
            }
            assertTrue(ids.contains("water.field_test"), ids.toString());
            assertTrue(s.checklistJson("water.field_test", 0).contains("\"colour_or_matter\""));

            // An inspection with a finding that needs a photo.
            String insp = s.startInspection(site.id, "water.field_test");
            String[][] answers = {{"sample_point", "outlet"}, {"disinfectant", "free_chlorine"},
                                  {"colour_or_matter", "yes"}, {"odour", "no"}, {"ph", "7.2"},
                                  {"residual", "0.5"}};
            for (String[] a : answers) {
                s.answer(insp, a[0], a[1]);
            }
            s.note(insp, "colour_or_matter", "水样浑浊，有𠀋状沉淀");
            assertTrue(s.inspectionJson(insp).contains("水样浑浊"));
            FicException e = assertThrows(FicException.class, () -> s.finishInspection(insp));
            assertEquals(Status.EINCOMPLETE, e.status());
            assertTrue(e.getMessage().contains("colour_or_matter"), e.getMessage());
            byte[] jpg = Fixture.jpeg(1280, 960, 1);
            String photoId = s.addPhoto(Photo.INSPECTION, insp, "colour_or_matter", jpg, null);
            Photo p = s.getPhoto(photoId);
            assertEquals(1280, p.width);
            assertEquals(jpg.length, p.bytes);
            assertEquals(64, p.sha256.length());
            assertTrue(p.uploadBytes > 0);
            assertEquals(1280, p.uploadWidth); // never enlarged
            byte[] preview = Library.renderPhoto(jpg, 640, 80);
            javax.imageio.stream.ImageInputStream iis = javax.imageio.ImageIO.createImageInputStream(
                    new java.io.ByteArrayInputStream(preview));
            java.awt.image.BufferedImage small = javax.imageio.ImageIO.read(iis);
            assertEquals(640, small.getWidth());
            assertEquals(480, small.getHeight());
            assertEquals(Status.EINVAL, assertThrows(FicException.class,
                () -> Library.renderPhoto(new byte[] {1, 2, 3}, 640, 80)).status());
            FinishSummary sum = s.finishInspection(insp);
            assertTrue(sum.findings >= 1);
            assertFalse(sum.leads.isEmpty());
            String opinion = s.opinion(insp, Store.OPINION_TEXT);
            assertTrue(opinion.contains("𠀋石桥村集中供水站💧"), opinion);
            assertThrows(FicException.class, () -> s.answer(insp, "odour", "yes"));

            // An urgent lead: foodborne disease, two hours from discovery.
            String urgent = s.fileLead("event.foodborne", Fixture.FOODBORNE, null, 0, 0);
            String tip = s.fileLead("lead.tip_off", Fixture.TIP_OFF, null, 0, 0);
            List<Lead> leads = s.leads(0);
            Lead first = leads.get(0);
            assertEquals(urgent, first.id);
            assertTrue(first.urgent);
            assertEquals("queued", first.state);
            long twoHours = 2 * 3600 * 1000L;
            assertTrue(first.remainingMs > twoHours - 60000 && first.remainingMs <= twoHours,
                    "remaining " + first.remainingMs);
            assertFalse(first.atRisk);
            assertTrue(s.leadJson(tip).contains("游医摆摊"));

            // Settings, tasks, due list and indicators.
            s.setSetting("semester_starts", "2026-03-01,2026-09-01");
            assertEquals("2026-03-01,2026-09-01", s.getSetting("semester_starts"));
            assertNotNull(s.tasks());
            assertTrue(s.dueJson().startsWith("{") || s.dueJson().startsWith("["));
            assertTrue(s.statsJson(0).contains("report_rate") || s.statsJson(0).startsWith("{"));
            StoreStats st = s.stats();
            assertEquals(1, st.sites);
            assertTrue(st.outboxPending >= 4);
            assertEquals(1, st.photosPending);

            // Sync: urgent first, everything acknowledged, the photo whole on the server.
            final List<SyncProgress> progress = new ArrayList<SyncProgress>();
            f.opts.listener = progress::add;
            SyncReport r = s.syncRun(f.opts);
            assertEquals(1, r.urgentAcked);
            assertEquals(0, r.pending);
            assertEquals(0, r.photosPending);
            assertEquals(1, r.photosSent);
            assertFalse(progress.isEmpty());
            assertEquals(1, f.server.photoCount());
            assertEquals(0, f.server.photoBad());
            assertTrue(f.server.recordCount("lead") >= 3);
            assertEquals(1, f.server.recordCount("inspection"));
            long urgentAt = f.server.receivedAt(urgent);
            assertTrue(urgentAt > 0 && urgentAt <= f.server.receivedAt(tip));
            assertEquals(0, f.server.chainBreaks());
            Lead delivered = s.leads(0).get(0);
            assertEquals("delivered", delivered.state);
            assertTrue(delivered.receiptAtMs > 0);
            TrustedTime t = s.timeNow();
            assertEquals(0, t.flags & TrustedTime.NO_CONTACT);
            assertEquals(0, s.stats().outboxPending);
            assertTrue(s.syncRejections().isEmpty());
            assertFalse(s.auditLog(site.id, 0).isEmpty());
            assertEquals("site.add", s.auditLog(site.id, 0).get(0).action);

            // The evidence stands up.
            EvidenceReport ev = s.verifyEvidence();
            assertTrue(ev.ok, ev.json);
            // The server's check of a chain, from Java: an empty one is sound; a broken link is not.
            String empty = Library.verifyChain("[]", null, 1);
            assertTrue(Json.bool(Json.object(empty), "ok"), empty);
            String bad = "[{\"seq\":1,\"hash\":\"" + new String(new char[64]).replace('\0', '0')
                    + "\",\"canonical\":\"{}\"}]";
            String broken = Library.verifyChain(bad, null, 1);
            assertFalse(Json.bool(Json.object(broken), "ok"), broken);
            assertFalse(Json.list(Json.object(broken), "problems").isEmpty(), broken);
            assertTrue(ev.chainEntries >= 3);
            assertEquals(1, ev.photos);
            s.check();
        }
    }
}
