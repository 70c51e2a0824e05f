package org.fieldinspect;

/**
 * Publicity, training or assistance with a case (fic_activity, records.h),
 * for {@link Store#addActivity}. Its photos are attached with
 * {@link Store#addPhoto} and {@link Photo#ACTIVITY}.
 */
public final class Activity {
    /** Kinds (fic_activity_kind): 宣传教育, training, 协助案件查办. */
    public static final int PUBLICITY = 1, TRAINING = 2, CASE = 3;

    public int kind;
    /** The service area (drinking_water, …), or null: "general". */
    public String area;
    /** YYYY-MM-DD, local; not after today. Required. */
    public String date;
    /** What it was about. Required. */
    public String topic;
    public String place, audience;
    /** How many were reached or trained; -1: not counted. */
    public int people = -1;
    /** 普法五进: "organs", "communities", "villages", "schools", "enterprises"; or null. */
    public String channel;
    /** 发放资料, 讲座, 宣传栏 …; or null. */
    public String format;
    /** {@link #CASE}: the agency's case number (required then). */
    public String caseRef;
    public String siteId, note;

    public Activity(int kind, String date, String topic) {
        this.kind = kind;
        this.date = date;
        this.topic = topic;
    }

    /* The order of Native.activityAdd's strings (fieldinspect_jni.c's ACTIVITY_STRS). */
    byte[][] strs() {
        String[] s = {area, date, topic, place, audience, channel, format, caseRef, siteId, note};
        byte[][] b = new byte[s.length][];
        for (int i = 0; i < s.length; i++) {
            b[i] = Rows.utf8(s[i]);
        }
        return b;
    }
}
