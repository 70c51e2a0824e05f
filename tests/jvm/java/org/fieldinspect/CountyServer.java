package org.fieldinspect;

import java.io.File;
import java.nio.charset.StandardCharsets;

/**
 * The reference county server (server/county.h) inside the test JVM, on a
 * loopback port, through the test hook library (tests/jvm/county_hook.c,
 * loaded from the system property fic.hook).
 */
final class CountyServer implements AutoCloseable {
    static final class Native {
        static {
            System.load(System.getProperty("fic.hook"));
        }

        static native long start(byte[] dbPath);
        static native int port(long h);
        static native void close(long h);
        static native byte[] issueCode(long h, byte[] county);
        static native int load(long h, byte[] county, byte[] feed, byte[] json);
        static native long recordCount(long h, byte[] type);
        static native long receivedAt(long h, byte[] recordId);
        static native byte[] smsIn(long h, byte[] text);
        static native long photoCount(long h);
        static native long photoBad(long h);
        static native int chainBreaks(long h);
        static native void faultBusy(long h, int n, int retryAfterS);
        static native void faultDropAfterStore(long h, int n);
    }

    private long h;
    final String url;

    CountyServer(File dir) {
        h = Native.start(utf8(new File(dir, "county.db").getAbsolutePath()));
        url = "http://127.0.0.1:" + Native.port(h);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    String issueCode(String county) {
        return new String(Native.issueCode(h, utf8(county)), StandardCharsets.UTF_8);
    }

    int load(String county, String feed, String json) {
        return Native.load(h, utf8(county), utf8(feed), utf8(json));
    }

    long recordCount(String type) {
        return Native.recordCount(h, type == null ? null : utf8(type));
    }

    long receivedAt(String recordId) {
        return Native.receivedAt(h, utf8(recordId));
    }

    /** An SMS part arriving at the county's gateway; returns the reply it sends ("" for none). */
    String smsIn(String text) {
        return new String(Native.smsIn(h, utf8(text)), StandardCharsets.UTF_8);
    }

    long photoCount() {
        return Native.photoCount(h);
    }

    long photoBad() {
        return Native.photoBad(h);
    }

    int chainBreaks() {
        return Native.chainBreaks(h);
    }

    void faultBusy(int n, int retryAfterS) {
        Native.faultBusy(h, n, retryAfterS);
    }

    void faultDropAfterStore(int n) {
        Native.faultDropAfterStore(h, n);
    }

    @Override
    public void close() {
        if (h != 0) {
            Native.close(h);
            h = 0;
        }
    }
}
