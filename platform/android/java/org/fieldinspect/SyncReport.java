package org.fieldinspect;

/** What a sync pass did (fic_sync_report, fieldinspect/sync.h, member for member). */
public final class SyncReport {
    public final long stored, duplicates, rejected, deferred, urgentAcked, pending, nextDueMs,
            retryAtMs, requests, bytesSent, bytesReceived, auditSent, photosSent, photoBytesSent,
            photosRejected, photosPending, pulled, pullSkipped, pullInvalid, setAside;

    /* v[0] is the pass's status; then the members in the header's order. */
    SyncReport(long[] v) {
        int i = 1;
        stored = v[i++];
        duplicates = v[i++];
        rejected = v[i++];
        deferred = v[i++];
        urgentAcked = v[i++];
        pending = v[i++];
        nextDueMs = v[i++];
        retryAtMs = v[i++];
        requests = v[i++];
        bytesSent = v[i++];
        bytesReceived = v[i++];
        auditSent = v[i++];
        photosSent = v[i++];
        photoBytesSent = v[i++];
        photosRejected = v[i++];
        photosPending = v[i++];
        pulled = v[i++];
        pullSkipped = v[i++];
        pullInvalid = v[i++];
        setAside = v[i++];
    }
}
