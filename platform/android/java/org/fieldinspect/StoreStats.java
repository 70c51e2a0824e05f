package org.fieldinspect;

/** Counts of what is waiting in the store (fic_store_stats). */
public final class StoreStats {
    public final long sites, auditEntries, outboxPending, photosPending;

    StoreStats(long[] v) {
        sites = v[0];
        auditEntries = v[1];
        outboxPending = v[2];
        photosPending = v[3];
    }
}
