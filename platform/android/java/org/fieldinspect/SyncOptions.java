package org.fieldinspect;

/**
 * Options of a sync call (fic_sync_options): the transport and the server's
 * base URL are required; the rest are optional. Zero limits mean the
 * transport's defaults.
 */
public final class SyncOptions {
    public Transport transport;
    /** e.g. "https://wsjd.example.cn" (no /v1). */
    public String serverUrl;
    /** Raise it from any thread to stop the pass (FicException ECANCELED). */
    public Cancellation cancel;
    public SyncListener listener;
    /** Send record bodies uncompressed (they are gzipped by default). */
    public boolean noGzip;
    public long connectTimeoutMs, lowSpeedTimeMs, totalTimeoutMs;
    /** Bytes of photo per request (0: 32 KiB; at most 256 KiB). */
    public long photoChunkBytes;

    public SyncOptions() {
    }

    public SyncOptions(Transport transport, String serverUrl) {
        this.transport = transport;
        this.serverUrl = serverUrl;
    }

    long[] limits() {
        return new long[] {connectTimeoutMs, lowSpeedTimeMs, totalTimeoutMs, photoChunkBytes};
    }
}
