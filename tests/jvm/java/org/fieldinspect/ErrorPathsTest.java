package org.fieldinspect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Every error path of the binding ends in a FicException with the core's status, never a crash. */
class ErrorPathsTest {
    private static final String[] TEXTS = {
        "𠀋", // U+2000B, CJK Extension B, in real place names
        "𪛖𫝀𬺰", // Extensions B, C and E
        "👩‍⚕️协管员🚰", // an emoji ZWJ sequence with Chinese
        "石柱县\u3000中益乡", // an ideographic space
    };

    @Test
    void textOutsideTheBmpRoundTrips() throws Exception {
        try (Fixture f = new Fixture(false)) {
            for (String t : TEXTS) {
                Site in = new Site(Site.OTHER_VENUE, t + "卫生室");
                in.address = "地址" + t;
                in.note = t;
                in.legalRep = t;
                Site out = f.store.addSite(in, "理由" + t);
                assertEquals(t + "卫生室", out.name);
                assertEquals("地址" + t, out.address);
                assertEquals(t, out.note);
                Site again = f.store.getSite(out.id);
                assertEquals(t, again.legalRep);
                assertEquals(1, f.store.searchSites(0, t, 0).size());
                assertTrue(f.store.auditLog(out.id, 0).get(0).detail.contains(t));
            }
            String lead = f.store.fileLead("lead.tip_off",
                    Fixture.TIP_OFF.replace("游医摆摊", "游医摆摊𠀋👩‍⚕️"), null, 0, 0);
            assertTrue(f.store.leadJson(lead).contains("游医摆摊𠀋👩‍⚕️"));
        }
    }

    @Test
    void aNulInsideTextIsRefusedNotCut() throws Exception {
        try (Fixture f = new Fixture(false)) {
            FicException e = assertThrows(FicException.class,
                () -> f.store.addSite(new Site(Site.OTHER_VENUE, "卫生室\u0000DROP"), null));
            assertEquals(Status.EINVAL, e.status());
            assertTrue(e.getMessage().contains("NUL"), e.getMessage());
            assertEquals(0, f.store.stats().sites); // nothing stored, not "卫生室"
            Site ok = f.store.addSite(new Site(Site.OTHER_VENUE, "卫生室"), null);
            assertEquals(Status.EINVAL, assertThrows(FicException.class,
                () -> f.store.getSite(ok.id + "\u0000")).status());
            assertEquals(Status.EINVAL, assertThrows(FicException.class,
                () -> f.store.closeSite(ok.id, "关\u0000门")).status());
            assertEquals(Site.ACTIVE, f.store.getSite(ok.id).status);
        }
    }

    @Test
    void errorsCarryTheCoresStatusAndMessage() throws Exception {
        try (Fixture f = new Fixture(false)) {
            FicException nf = assertThrows(FicException.class, () -> f.store.getSite("no-such-site"));
            assertEquals(Status.ENOTFOUND, nf.status());
            assertEquals(-4, nf.code());
            assertFalse(nf.coreMessage().isEmpty());
            FicException noName = assertThrows(FicException.class,
                () -> f.store.addSite(new Site(Site.SCHOOL, null), null));
            assertEquals(Status.EINVAL, noName.status());
            assertTrue(noName.getMessage().contains("name"), noName.getMessage());
            FicException cc = assertThrows(FicException.class,
                () -> Library.checkCreditCode("91500000MA5U0000X1"));
            assertEquals(Status.EINVAL, cc.status());
            Library.checkCreditCode("91350100M000100Y43");
            assertEquals(Status.EINVAL, assertThrows(FicException.class,
                () -> f.store.setSetting("utc_offset_minutes", "lots")).status());
            assertEquals(Status.EINVAL, assertThrows(FicException.class,
                () -> f.store.setSetting("no_such_setting", "1")).status());
            assertEquals(Status.ENOTFOUND, assertThrows(FicException.class,
                () -> f.store.fileLead("event.no_such_form", "{}", null, 0, 0)).status());
            assertEquals(Status.EINCOMPLETE, assertThrows(FicException.class,
                () -> f.store.fileLead("event.foodborne", "{}", null, 0, 0)).status());
            // Not enrolled: the sync says so before any request.
            assertEquals(Status.ESTATE, assertThrows(FicException.class,
                () -> f.store.syncPush(f.opts)).status());
            assertEquals(Status.EINVAL, assertThrows(FicException.class,
                () -> f.store.syncPush(new SyncOptions(null, "http://127.0.0.1:1"))).status());
            assertEquals(Status.UNKNOWN, Status.of(-999));
            assertEquals(Status.EAUTH, Status.of(-20));
            assertTrue(Library.describe(-4).contains("not found"));
            assertEquals("water_rural", Library.code(Site.CODE_KIND, Site.WATER_RURAL));
            assertEquals(Site.SCHOOL, Library.parseCode(Site.CODE_KIND, "school"));
            assertEquals("0.2.0", Library.version());
        }
    }

    @Test
    void aClosedStoreThrowsAndClosingTwiceIsFine() throws Exception {
        try (Fixture f = new Fixture(false)) {
            f.store.close();
            f.store.close();
            assertTrue(f.store.isClosed());
            FicException e = assertThrows(FicException.class, () -> f.store.stats());
            assertEquals(Status.EINVAL, e.status());
            assertTrue(e.getMessage().contains("closed"));
            assertThrows(FicException.class, () -> f.store.addSite(new Site(Site.SCHOOL, "x"), null));
            assertThrows(FicException.class, () -> f.store.syncRun(f.opts));
            Cancellation c = new Cancellation();
            c.close();
            c.cancel(); // a no-op once closed
            assertFalse(c.isCancelled());
        }
    }

    @Test
    void aSecondThreadAtOnceIsRefusedNotRaced() throws Exception {
        try (Fixture f = new Fixture(false)) {
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
            Cancellation cancel = new Cancellation();
            f.opts.cancel = cancel;
            AtomicReference<Throwable> result = new AtomicReference<Throwable>();
            Thread t = new Thread(() -> {
                try {
                    f.store.enroll(f.opts, "ABCDEF12", "测试机");
                } catch (Throwable e) {
                    result.set(e);
                }
            });
            t.start();
            assertTrue(inside.await(10, TimeUnit.SECONDS));
            FicException busy = assertThrows(FicException.class, () -> f.store.stats());
            assertEquals(Status.EBUSY, busy.status());
            assertEquals(Status.EBUSY, assertThrows(FicException.class, f.store::close).status());
            // The pass holds its cancellation flag: it cannot be freed under it.
            assertEquals(Status.EBUSY, assertThrows(FicException.class, cancel::close).status());
            release.countDown();
            t.join();
            cancel.close(); // free once the pass is over
            // The transport's own status and message reached the caller through the core.
            FicException e = (FicException) result.get();
            assertEquals(Status.ENETWORK, e.status());
            assertTrue(e.getMessage().contains("no network in this test"), e.getMessage());
            assertEquals(0, f.store.stats().sites); // usable again
        }
    }

    @Test
    void aListenerThatThrowsOrCallsTheStoreDoesNotBreakThePass() throws Exception {
        try (Fixture f = new Fixture()) {
            f.enroll();
            f.school("一小");
            f.opts.listener = p -> {
                throw new IllegalStateException("listener bug");
            };
            IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> f.store.syncPush(f.opts));
            assertEquals("listener bug", e.getMessage());
            assertEquals(0, f.store.stats().outboxPending); // the pass itself went on
            f.school("二小");
            f.opts.listener = p -> f.store.stats(); // the store is busy in its own pass
            FicException busy = assertThrows(FicException.class, () -> f.store.syncPush(f.opts));
            assertEquals(Status.EBUSY, busy.status());
            f.opts.listener = null;
            f.store.syncPush(f.opts);
            assertEquals(0, f.store.stats().outboxPending);
        }
    }

    @Test
    void aTransportThatMisbehavesIsAFailureOfTheExchange() throws Exception {
        try (Fixture f = new Fixture(false)) {
            f.opts.transport = req -> null;
            FicException e = assertThrows(FicException.class,
                () -> f.store.enroll(f.opts, "ABCDEF12", null));
            assertEquals(Status.ERROR, e.status());
            f.opts.transport = req -> {
                throw new NullPointerException("bug in the app's transport");
            };
            e = assertThrows(FicException.class, () -> f.store.enroll(f.opts, "ABCDEF12", null));
            assertEquals(Status.ERROR, e.status());
            f.opts.transport = req -> {
                throw new FicException(Status.ETLS, "pinned key mismatch");
            };
            e = assertThrows(FicException.class, () -> f.store.enroll(f.opts, "ABCDEF12", null));
            assertEquals(Status.ETLS, e.status());
            assertTrue(e.getMessage().contains("pinned key mismatch"));
            assertEquals(null, f.store.enrolledCounty());
        }
    }
}
