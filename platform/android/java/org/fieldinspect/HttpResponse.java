package org.fieldinspect;

/** What came back (fic_http_response). */
public final class HttpResponse {
    /** {@link #contentEncoding} values (FIC_HTTP_CODING_*). */
    public static final int CODING_NONE = 0, CODING_GZIP = 1, CODING_OTHER = 2;

    public int status;
    /** The body as it arrived (compressed if it is), or null when empty. */
    public byte[] body;
    /** X-Fic-Server-Time, Retry-After (in ms) and Upload-Offset, or -1 when absent. */
    public long serverTimeMs = -1, retryAfterMs = -1, uploadOffset = -1;
    public int contentEncoding = CODING_NONE;
}
