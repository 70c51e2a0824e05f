package org.fieldinspect;

/**
 * A cancellation flag for sync passes (fic_cancel: a C11 atomic in the
 * core). {@link #cancel()} may be called from any thread at any time; the
 * pass using it stops within a fraction of a second with
 * {@link Status#ECANCELED}. {@link #reset()} lowers it for the next pass.
 * Close it when done; closing while a pass uses it throws.
 */
public final class Cancellation implements AutoCloseable {
    private long handle;
    private int users;

    public Cancellation() {
        Native.load();
        handle = Native.cancelNew();
    }

    public synchronized void cancel() {
        if (handle != 0) {
            Native.cancelRequest(handle);
        }
    }

    public synchronized void reset() {
        if (handle != 0) {
            Native.cancelReset(handle);
        }
    }

    public synchronized boolean isCancelled() {
        return handle != 0 && Native.cancelRequested(handle);
    }

    /* A pass takes the flag for its duration, so it cannot be freed under it. */
    synchronized long acquire() {
        if (handle == 0) {
            throw new FicException(Status.EINVAL, "the cancellation flag is closed");
        }
        users++;
        return handle;
    }

    synchronized void release() {
        users--;
    }

    @Override
    public synchronized void close() {
        if (users > 0) {
            throw new FicException(Status.EBUSY, "the cancellation flag is in use by a sync pass");
        }
        if (handle != 0) {
            Native.cancelFree(handle);
            handle = 0;
        }
    }
}
