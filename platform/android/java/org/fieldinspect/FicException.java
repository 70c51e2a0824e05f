package org.fieldinspect;

import java.nio.charset.StandardCharsets;

/**
 * The one exception of the binding: a core call failed. Carries the core's
 * status ({@link #status()}, a Java enum; {@link #code()} its number) and the
 * core's one-line message (fic_error_last). Unchecked: every method of the
 * binding may throw it; the status says what to do (docs/api.md, "Status
 * codes"). A sync that failed part-way also carries what it did
 * ({@link #syncReport()}).
 */
public class FicException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int code;
    private final SyncReport report;

    /** Called by the JNI glue: the message as UTF-8 bytes (never modified UTF-8). */
    FicException(int code, byte[] message) {
        this(code, new String(message, StandardCharsets.UTF_8), null);
    }

    public FicException(Status status, String message) {
        this(status.code, message, null);
    }

    FicException(int code, String message, SyncReport report) {
        super(Status.of(code).name() + ": " + message);
        this.code = code;
        this.report = report;
    }

    /** The status as an enum. */
    public Status status() {
        return Status.of(code);
    }

    /** The status as the core's number. */
    public int code() {
        return code;
    }

    /** The core's message alone (without the status name). */
    public String coreMessage() {
        String m = getMessage();
        int i = m.indexOf(": ");
        return i >= 0 ? m.substring(i + 2) : m;
    }

    /** For the JNI glue (a transport's failure becomes the core's error message). */
    byte[] messageBytes() {
        return coreMessage().getBytes(StandardCharsets.UTF_8);
    }

    /** What the sync pass did before it failed, or null when this is not a sync failure. */
    public SyncReport syncReport() {
        return report;
    }
}
