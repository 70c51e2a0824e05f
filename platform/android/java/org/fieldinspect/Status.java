package org.fieldinspect;

/**
 * The core's status codes ({@code fic_status} in fieldinspect/common.h), as a
 * Java enum. Codes are only ever appended; a code this binding does not know
 * comes back as {@link #UNKNOWN} (its number stays in
 * {@link FicException#code()}).
 */
public enum Status {
    OK(0), ERROR(-1), EINVAL(-2), ENOMEM(-3), ENOTFOUND(-4), EEXISTS(-5), EIO(-6),
    ECORRUPT(-7), ENOTSTORE(-8), ENEWER(-9), EREADONLY(-10), EBUSY(-11), ESCHEMA(-12),
    ESTATE(-13), ETOOBIG(-14), EINCOMPLETE(-15), EPROTO(-16), ENETWORK(-17), ETLS(-18),
    ECANCELED(-19), EAUTH(-20), UNKNOWN(Integer.MIN_VALUE);

    /** The C value. */
    public final int code;

    Status(int code) {
        this.code = code;
    }

    /** The status for a C value ({@link #UNKNOWN} for one appended after this binding). */
    public static Status of(int code) {
        for (Status s : values()) {
            if (s.code == code) {
                return s;
            }
        }
        return UNKNOWN;
    }
}
