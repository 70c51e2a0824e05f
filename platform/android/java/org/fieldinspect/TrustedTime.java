package org.fieldinspect;

/** A reading of the clocks and of trusted time (fic_time, fieldinspect/evidence.h). */
public final class TrustedTime {
    /** Flags (FIC_TIME_*). */
    public static final int NO_CONTACT = 1, CLOCK_CHANGED = 2, OTHER_BOOT = 4;

    public final String bootId;
    public final long deviceMs, monoMs, trustedMs, uncertaintyMs;
    public final int flags;

    TrustedTime(Rows r) {
        bootId = r.str();
        deviceMs = r.num();
        monoMs = r.num();
        trustedMs = r.num();
        uncertaintyMs = r.num();
        flags = r.i32();
    }
}
