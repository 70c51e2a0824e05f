package org.fieldinspect;

/** Functions of the core that need no store. Thread-safe. */
public final class Library {
    private Library() {
    }

    static {
        Native.load();
    }

    /** The core's version, e.g. "0.2.0". */
    public static String version() {
        return Rows.text(Native.version());
    }

    /** The schema version this build writes. */
    public static int schemaVersion() {
        return Native.storeSchemaVersion();
    }

    /** A status code's English name ("FIC_ENOTFOUND: not found"). */
    public static String describe(int code) {
        return Rows.text(Native.resultStr(code));
    }

    /**
     * Check a unified social credit code (统一社会信用代码, GB 32100-2015).
     * @throws FicException EINVAL saying what is wrong
     */
    public static void checkCreditCode(String code) {
        Native.creditCodeCheck(Rows.utf8(code));
    }

    /** The code string of an enumeration value ("water_rural"); "" when unknown. */
    public static String code(int type, int value) {
        return Rows.text(Native.siteCodeStr(type, value));
    }

    /** The Chinese label of an enumeration value ("农村集中式供水"); "" when unknown. */
    public static String label(int type, int value) {
        return Rows.text(Native.siteCodeLabel(type, value));
    }

    /** Parse a code string. @throws FicException EINVAL listing the accepted codes */
    public static int parseCode(int type, String code) {
        return Native.siteCodeParse(type, Rows.utf8(code));
    }

    /**
     * Read a scanned place code (fic_place_code_parse, visit.h): a URL, a
     * "key：value" text or a bare token, however the scanner spaced it. Needs
     * no store; any thread. EINVAL for a payload that is empty, whitespace,
     * not UTF-8 or holds a NUL; ETOOBIG over 4096 bytes.
     */
    public static PlaceCode parsePlaceCode(String payload) {
        return new PlaceCode(new Rows(Native.placeCodeParse(Rows.utf8(payload))));
    }

    /**
     * Verify a device's chain as the county server does (fic_chain_verify);
     * returns the report JSON {"ok", "last_seq", "last_hash", "problems"}.
     */
    public static String verifyChain(String submissionsJson, String expectedPrevHash, long firstSeq) {
        return Rows.text(Native.chainVerify(Rows.utf8(submissionsJson), Rows.utf8(expectedPrevHash),
                firstSeq));
    }

    /**
     * The upload rendition of a JPEG, as the store makes it (fic_photo_render):
     * EXIF orientation applied, longest edge at most {@code maxEdge} (never
     * enlarged), JPEG {@code quality}, no metadata — to preview what will be sent.
     */
    public static byte[] renderPhoto(byte[] jpeg, int maxEdge, int quality) {
        return Native.photoRender(jpeg, maxEdge, quality);
    }

    /**
     * Diagnostics: {blocks the core holds now (its allocator counts them),
     * JNI global references the binding holds}. For leak checks.
     */
    public static long[] debugCounters() {
        return Native.debugCounters();
    }
}
