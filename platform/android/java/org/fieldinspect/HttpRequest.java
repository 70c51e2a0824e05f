package org.fieldinspect;

import java.util.Collections;
import java.util.List;

/** A request of the sync engine (fic_http_request). Zero limits: the transport's defaults. */
public final class HttpRequest {
    public final String method, url;
    /** {name, value} pairs, in order. They may hold the device's token: never log them. */
    public final List<String[]> headers;
    public final byte[] body;
    public final long connectTimeoutMs, lowSpeedTimeMs, lowSpeedBytes, totalTimeoutMs,
            maxResponseBytes;
    private final long cancel;

    HttpRequest(String method, String url, List<String[]> headers, byte[] body,
                long connectTimeoutMs, long lowSpeedTimeMs, long lowSpeedBytes,
                long totalTimeoutMs, long maxResponseBytes, long cancel) {
        this.method = method;
        this.url = url;
        this.headers = Collections.unmodifiableList(headers);
        this.body = body;
        this.connectTimeoutMs = connectTimeoutMs;
        this.lowSpeedTimeMs = lowSpeedTimeMs;
        this.lowSpeedBytes = lowSpeedBytes;
        this.totalTimeoutMs = totalTimeoutMs;
        this.maxResponseBytes = maxResponseBytes;
        this.cancel = cancel;
    }

    /** Whether this request is cancelled — the pass was, or the engine abandons a photo
     * lane's exchange (poll it while waiting; thread-safe). */
    public boolean isCancelled() {
        return cancel != 0 && Native.cancelRequested(cancel);
    }
}
