package org.fieldinspect;

/**
 * A water sample as taken (fic_sample, records.h), for
 * {@link Store#addSample}; the laboratory's result comes later
 * ({@link Store#setSampleResult}, or the county's lab_results feed).
 */
public final class Sample {
    /** The number on its label: letters, digits, '-', '_', '.'; unique. Required. */
    public String sampleNo;
    /** The water supply or school. Required. */
    public String siteId;
    /** Where: 出厂水, 末梢水, 水箱 … Required. */
    public String point;
    /** When (device UTC ms); 0: now. */
    public long takenAtMs;
    /** Who took it; null: the store's actor. */
    public String takenBy;
    /** The laboratory's or CDC's person who received it. Required. */
    public String receivedBy;
    public String note;

    public Sample(String sampleNo, String siteId, String point, String receivedBy) {
        this.sampleNo = sampleNo;
        this.siteId = siteId;
        this.point = point;
        this.receivedBy = receivedBy;
    }

    /* The order of Native.sampleAdd's strings (fieldinspect_jni.c's SAMPLE_STRS). */
    byte[][] strs() {
        String[] s = {sampleNo, siteId, point, takenBy, receivedBy, note};
        byte[][] b = new byte[s.length][];
        for (int i = 0; i < s.length; i++) {
            b[i] = Rows.utf8(s[i]);
        }
        return b;
    }
}
