package org.fieldinspect;

/** A record the county server refused, with its reason (fic_sync_rejection). */
public final class SyncRejection {
    /** "lead", "inspection", "site", "photo", …; "photo_file" for a photo's bytes. */
    public final String recordType, recordId, op, reason;
    public final long queuedAtMs;

    SyncRejection(Rows r) {
        recordType = r.str();
        recordId = r.str();
        op = r.str();
        reason = r.str();
        queuedAtMs = r.num();
    }
}
