package org.fieldinspect;

/** Progress of a sync pass (fic_sync_progress). */
public final class SyncProgress {
    public final long recordsDone, recordsTotal, bytesSent, photosDone, photosPending;
    public final int urgentPending;

    SyncProgress(long recordsDone, long recordsTotal, long bytesSent, int urgentPending,
                 long photosDone, long photosPending) {
        this.recordsDone = recordsDone;
        this.recordsTotal = recordsTotal;
        this.bytesSent = bytesSent;
        this.urgentPending = urgentPending;
        this.photosDone = photosDone;
        this.photosPending = photosPending;
    }
}
