package org.fieldinspect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/**
 * 10 000 iterations of the workflow's calls, failures included, leave the
 * core's heap (every block its allocator holds: the binding installs a
 * counting allocator) and the binding's JNI global references exactly where
 * they were; closing the store gives back everything it held.
 */
class LeakTest {
    @Test
    void tenThousandIterationsLeaveTheNativeHeapAndGlobalReferencesFlat() throws Exception {
        long[] start = Library.debugCounters();
        try (Fixture f = new Fixture(false)) {
            Site site = f.store.addSite(new Site(Site.WATER_RURAL, "𠀋石桥村集中供水站"), "巡查发现");
            String insp = f.store.startInspection(site.id, "water.field_test");
            byte[] jpg = Fixture.jpeg(320, 240, 3);
            String draft = f.store.fileLead("lead.tip_off", Fixture.TIP_OFF, site.id, 0, Lead.DRAFT);
            Runnable iteration = new Runnable() {
                int i;

                @Override
                public void run() {
                    i++;
                    f.store.getSite(site.id);
                    f.store.searchSites(0, "石桥", 5);
                    f.store.sitesNear(29.9, 108.1, 1000, 5);
                    f.store.checklists(Site.WATER_RURAL, ChecklistInfo.PATROLS);
                    f.store.answer(insp, "ph", i % 2 == 0 ? "7.2" : "7.4");
                    f.store.inspectionJson(insp);
                    f.store.leads(5);
                    f.store.leadJson(draft);
                    f.store.stats();
                    f.store.timeNow();
                    f.store.tasks();
                    f.store.getSetting("utc_offset_minutes");
                    f.store.auditLog(site.id, 3);
                    f.store.syncRejections();
                    site.toJson();
                    // the year's calls (YearApiTest checks what they do)
                    f.store.isReadOnly();
                    f.store.duePage("drinking_water", null, 10);
                    f.store.siteCodes(site.id);
                    Library.parsePlaceCode("场所名称：𠀋石桥村集中供水站\n地址：石桥村" + (i % 7));
                    f.store.noticesDue();
                    f.store.smsDue();
                    if (i % 10 == 0) {
                        f.store.dueSummaryJson();
                        f.store.patrolPlanJson();
                        f.store.waterStatusJson();
                        f.store.samplesJson(null);
                        f.store.activitiesJson(0, 0);
                        f.store.register(Store.REGISTER_REPORTS, null, null, Store.REGISTER_CSV);
                    }
                    // failures leak nothing either
                    assertThrows(FicException.class, () -> f.store.getSite("missing-" + i));
                    assertThrows(FicException.class,
                        () -> f.store.addSite(new Site(Site.SCHOOL, "a\u0000b"), null));
                    assertThrows(FicException.class, () -> f.store.answer(insp, "ph", "acid"));
                    assertThrows(FicException.class, () -> f.store.scanVisit("https://x.cn/p?code=" + i,
                            false, 0, 0, 0));
                    assertThrows(FicException.class, () -> f.store.leadSms(draft));
                    assertThrows(FicException.class, () -> f.store.addSample(
                            new Sample("S-" + i, site.id, null, "lab")));
                    try (Cancellation c = new Cancellation()) {
                        c.cancel();
                    }
                    if (i % 100 == 0) {
                        f.store.addSite(new Site(Site.OTHER_VENUE, "卫生室" + i), null);
                        f.store.addPhoto(Photo.LEAD, draft, null, jpg, null);
                        f.store.addActivity(new Activity(Activity.PUBLICITY, "2026-01-05", "宣传" + i));
                    }
                }
            };
            for (int k = 0; k < 200; k++) {
                iteration.run(); // caches fill: the checklist registry, statements
            }
            long[] warm = Library.debugCounters();
            long t0 = System.nanoTime();
            for (int k = 0; k < 10000; k++) {
                iteration.run();
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            long[] end = Library.debugCounters();
            System.out.printf("leak check: 10000 iterations in %d ms; core heap blocks %d -> %d, "
                    + "JNI global refs %d -> %d%n", ms, warm[0], end[0], warm[1], end[1]);
            assertEquals(warm[0], end[0], "blocks held by the core");
            assertEquals(warm[1], end[1], "JNI global references");
        }
        long[] closed = Library.debugCounters();
        System.out.printf("leak check: after close %d blocks (before open %d)%n", closed[0], start[0]);
        assertEquals(start[0], closed[0], "the store gave back every block");
        assertEquals(start[1], closed[1]);
    }
}
