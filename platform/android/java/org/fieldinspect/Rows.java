package org.fieldinspect;

import java.nio.charset.StandardCharsets;

/**
 * Records as the JNI glue returns them: every string in one UTF-8 byte[]
 * with (offset, length) pairs (-1 for null), the numbers in a long[] and a
 * double[] — four objects whatever the number of records, read in order.
 */
final class Rows {
    private final byte[] blob;
    private final int[] offs;
    private final long[] nums;
    private final double[] dbls;
    private int s, n, d;

    Rows(Object[] r) {
        blob = (byte[]) r[0];
        offs = (int[]) r[1];
        nums = (long[]) r[2];
        dbls = (double[]) r[3];
    }

    String str() {
        int off = offs[s++], len = offs[s++];
        return off < 0 ? null : new String(blob, off, len, StandardCharsets.UTF_8);
    }

    long num() {
        return nums[n++];
    }

    int i32() {
        return (int) nums[n++];
    }

    double dbl() {
        return dbls[d++];
    }

    boolean more() {
        return s < offs.length || n < nums.length;
    }

    static byte[] utf8(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }

    static String text(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }
}
