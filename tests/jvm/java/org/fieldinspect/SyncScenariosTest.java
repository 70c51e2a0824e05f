package org.fieldinspect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The end-to-end sync scenarios of tests/server/test_e2e.c, with the Java
 * transport (HttpURLConnection) in place of libcurl, against the real
 * reference server.
 */
class SyncScenariosTest {
    /* Three schools, two tip-offs and two urgent foodborne reports. */
    private static String[] patrolDay(Fixture f) {
        f.school("一小");
        f.school("二小");
        f.school("三小");
        f.store.fileLead("lead.tip_off", Fixture.TIP_OFF, null, 0, 0);
        f.store.fileLead("lead.tip_off", Fixture.TIP_OFF, null, 0, 0);
        return new String[] {f.store.fileLead("event.foodborne", Fixture.FOODBORNE, null, 0, 0),
                             f.store.fileLead("event.foodborne", Fixture.FOODBORNE, null, 0, 0)};
    }

    private static long held(Fixture f) {
        return f.server.recordCount("lead") + f.server.recordCount("site");
    }

    @Test
    void urgentLeadsGoFirstAndAlone() throws Exception {
        try (Fixture f = new Fixture()) {
            f.enroll();
            String[] urgent = patrolDay(f);
            SyncReport r = f.store.syncPush(f.opts);
            assertEquals(7, r.stored);
            assertEquals(2, r.urgentAcked);
            assertEquals(3, r.requests); // urgent alone, the rest, the audit log
            assertTrue(r.auditSent > 7);
            assertEquals(7, held(f));
            long u = f.server.receivedAt(urgent[0]);
            assertTrue(u > 0);
            assertEquals(u, f.server.receivedAt(urgent[1])); // one request
            for (Lead l : f.store.leads(0)) {
                assertEquals("delivered", l.state);
                assertTrue(l.receiptAtMs >= u);
            }
            assertEquals(0, f.store.stats().outboxPending);
        }
    }

    @Test
    void lostAnswersAndABusyServerLoseAndDoubleNothing() throws Exception {
        try (Fixture f = new Fixture()) {
            f.enroll();
            patrolDay(f);
            // The server stores each of the next three batches and drops the connection.
            f.server.faultDropAfterStore(3);
            int failures = 0;
            long dups = 0;
            SyncReport ok = null;
            for (int pass = 0; pass < 10 && ok == null; pass++) {
                try {
                    ok = f.store.syncPush(f.opts);
                    dups += ok.duplicates;
                } catch (FicException e) {
                    assertEquals(Status.ENETWORK, e.status(), e.getMessage());
                    assertTrue(e.syncReport().deferred > 0);
                    dups += e.syncReport().duplicates;
                    failures++;
                    f.store.networkChanged(true); // what waited out a backoff is due now
                }
            }
            assertTrue(ok != null);
            assertTrue(failures >= 1);
            assertTrue(dups >= 1); // stored batches sent again, answered as duplicates
            assertEquals(7, held(f)); // nothing doubled
            assertEquals(0, f.store.stats().outboxPending);

            // A busy server: 503 with Retry-After 1 s is honoured.
            String id = f.store.fileLead("lead.tip_off", Fixture.TIP_OFF, null, 0, 0);
            f.server.faultBusy(1, 1);
            long before = System.currentTimeMillis();
            FicException busy = assertThrows(FicException.class, () -> f.store.syncPush(f.opts));
            assertEquals(Status.ENETWORK, busy.status());
            assertTrue(busy.syncReport().retryAtMs - before >= 900, "" + busy.syncReport().retryAtMs);
            SyncReport quiet = f.store.syncPush(f.opts);
            assertEquals(0, quiet.requests); // not before the server said
            assertEquals(1, f.store.stats().outboxPending);
            long wait = quiet.nextDueMs - System.currentTimeMillis();
            Thread.sleep(Math.max(0, wait) + 50);
            SyncReport after = f.store.syncPush(f.opts);
            assertEquals(1, after.stored);
            assertEquals(8, held(f));
            assertTrue(f.server.receivedAt(id) > 0);
        }
    }

    /* The Java transport as the engine sees it, watched: calls at once, their
     * threads, 409s (a chunk sent where the server had already gone past). */
    static final class Recording implements Transport {
        final Transport inner;
        final AtomicInteger inFlight = new AtomicInteger(), maxInFlight = new AtomicInteger(),
                conflicts = new AtomicInteger();
        final Set<Thread> photoThreads = ConcurrentHashMap.newKeySet();
        final Set<Thread> otherThreads = ConcurrentHashMap.newKeySet();
        volatile long holdPatchMs;

        Recording(Transport inner) {
            this.inner = inner;
        }

        @Override
        public HttpResponse execute(HttpRequest req) {
            int n = inFlight.incrementAndGet();
            maxInFlight.accumulateAndGet(n, Math::max);
            (req.url.contains("/v1/photos/") ? photoThreads : otherThreads).add(Thread.currentThread());
            try {
                if (req.method.equals("PATCH") && holdPatchMs > 0) {
                    Thread.sleep(holdPatchMs);
                }
                HttpResponse r = inner.execute(req);
                if (r.status == 409) {
                    conflicts.incrementAndGet();
                }
                return r;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new FicException(Status.ECANCELED, "interrupted");
            } finally {
                inFlight.decrementAndGet();
            }
        }

        @Override
        public boolean concurrent() {
            return inner.concurrent();
        }
    }

    @Test
    void photosGoOnTwoLanesThroughTheJavaTransport() throws Exception {
        try (Fixture f = new Fixture()) {
            f.enroll();
            Site s = f.school("一小");
            for (int i = 0; i < 3; i++) {
                f.store.addPhoto(Photo.SITE, s.id, null, Fixture.jpeg(1200, 900, 20 + i), null);
            }
            assertTrue(f.transport.concurrent());
            Recording rec = new Recording(f.transport);
            rec.holdPatchMs = 10; // so two chunks are surely in flight together
            f.opts.transport = rec;
            f.opts.photoChunkBytes = 8192;
            long[] before = Library.debugCounters();
            SyncReport r = f.store.syncPush(f.opts);
            long[] after = Library.debugCounters();
            assertEquals(3, r.photosSent);
            assertEquals(3, f.server.photoCount());
            assertEquals(0, f.server.photoBad());
            assertEquals(0, f.store.stats().photosPending);
            // Two chunks at once, on two threads of the engine's (attached for each call);
            // the records on this thread.
            assertTrue(rec.maxInFlight.get() >= 2, "at most " + rec.maxInFlight.get() + " at once");
            assertEquals(2, rec.photoThreads.size(), rec.photoThreads.toString());
            assertFalse(rec.photoThreads.contains(Thread.currentThread()));
            assertEquals(Collections.singleton(Thread.currentThread()), rec.otherThreads);
            assertEquals(0, rec.inFlight.get());
            assertEquals(0, rec.conflicts.get());
            // The transport's global reference for the pass is gone with it.
            assertEquals(before[1], after[1], "JNI global references");
        }
    }

    @Test
    void aTransportThatIsNotConcurrentIsCalledOnTheSyncingThreadAlone() throws Exception {
        try (Fixture f = new Fixture()) {
            f.enroll();
            Site s = f.school("一小");
            f.store.addPhoto(Photo.SITE, s.id, null, Fixture.jpeg(1200, 900, 30), null);
            f.store.addPhoto(Photo.SITE, s.id, null, Fixture.jpeg(1200, 900, 31), null);
            Recording inner = new Recording(f.transport);
            Transport one = req -> inner.execute(req); // a lambda: concurrent() is the default
            assertFalse(one.concurrent());
            f.opts.transport = one;
            SyncReport r = f.store.syncPush(f.opts);
            assertEquals(2, r.photosSent);
            assertEquals(1, inner.maxInFlight.get());
            assertEquals(Collections.singleton(Thread.currentThread()), inner.photoThreads);
        }
    }

    @Test
    void anInterruptedPhotoResumesAtTheServersOffset() throws Exception {
        try (Fixture f = new Fixture(); Cancellation cancel = new Cancellation()) {
            f.enroll();
            Site s = f.school("一小");
            String a = f.store.addPhoto(Photo.SITE, s.id, null, Fixture.jpeg(1600, 1200, 7), null);
            String b = f.store.addPhoto(Photo.SITE, s.id, null, Fixture.jpeg(1600, 1200, 8), null);
            long total = f.store.getPhoto(a).uploadBytes + f.store.getPhoto(b).uploadBytes;
            f.opts.photoChunkBytes = 4096;
            f.opts.cancel = cancel;
            Recording rec = new Recording(f.transport);
            f.opts.transport = rec;
            final int[] calls = {0};
            f.opts.listener = p -> {
                if (++calls[0] == 8) { // records, the audit log, a HEAD, a few chunks
                    cancel.cancel();
                }
            };
            FicException e = assertThrows(FicException.class, () -> f.store.syncPush(f.opts));
            assertEquals(Status.ECANCELED, e.status());
            long first = e.syncReport().photoBytesSent;
            assertTrue(first > 0 && first < total, "sent " + first + " of " + total);
            assertEquals(0, f.server.photoCount());
            cancel.reset();
            f.opts.listener = null;
            SyncReport r = f.store.syncPush(f.opts);
            // Nothing was sent twice: the second pass began at the server's offsets, so
            // no chunk met a 409 and no byte was taken twice. (The photos go on two lanes:
            // a chunk cut in flight may have reached the server without its answer — at
            // most one per lane — and is then neither counted nor sent again.)
            long both = first + r.photoBytesSent;
            assertTrue(both <= total && both >= total - 2 * 4096, both + " of " + total);
            assertEquals(0, rec.conflicts.get());
            assertEquals(2, f.server.photoCount());
            assertEquals(0, f.server.photoBad());
            assertEquals(0, f.store.stats().photosPending);
        }
    }

    @Test
    void aRegistryOfTenThousandSitesComesInPagesAndListsWhole() throws Exception {
        try (Fixture f = new Fixture()) {
            f.enroll();
            StringBuilder json = new StringBuilder("[");
            for (int i = 0; i < 10000; i++) {
                if (i > 0) {
                    json.append(',');
                }
                json.append("{\"id\":\"cq-").append(i).append("\",\"kind\":\"water_rural\",")
                    .append("\"name\":\"𠀋村供水站").append(i).append("\"}");
            }
            json.append(']');
            assertEquals(10000, f.server.load(Fixture.COUNTY, "sites", json.toString()));
            SyncReport r = f.store.syncPull(f.opts);
            assertEquals(10000, r.pulled);
            assertTrue(r.requests >= 20); // 500 a page
            List<Site> all = f.store.searchSites(0, null, 0);
            assertEquals(10000, all.size());
            assertTrue(all.get(0).name.startsWith("𠀋村供水站"));
            assertEquals(Site.FROM_COUNTY, all.get(9999).origin);
            assertEquals(10000, f.store.searchSites(Site.WATER_RURAL, "𠀋村", 0).size());
        }
    }
}
