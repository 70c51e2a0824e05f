package org.fieldinspect;

/**
 * Told after each exchange of a sync pass, on the syncing thread (post to
 * the UI thread from here). It must not call the store (the pass holds
 * it). If it throws, it is not called again in this pass, and the exception
 * is rethrown when the pass ends.
 */
public interface SyncListener {
    void onProgress(SyncProgress progress);
}
