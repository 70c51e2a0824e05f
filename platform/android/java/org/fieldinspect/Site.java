package org.fieldinspect;

/**
 * A site of the registry (本底): fic_site (fieldinspect/site.h), field for
 * field. As input (add, update) set what is known; {@link #UNKNOWN} for
 * numbers and yes/no facts not recorded, 0 for an enumeration that does not
 * apply, null for text not recorded. As output every field is filled.
 */
public final class Site {
    /** A number or yes/no fact not recorded (FIC_UNKNOWN). */
    public static final int UNKNOWN = -1;

    /* kinds (fic_site_kind) */
    public static final int WATER_RURAL = 1, WATER_SECONDARY = 2, SCHOOL = 3, MEDICAL = 4,
            BLOOD_STATION = 5, PLASMA_STATION = 6, MCH = 7, EMPLOYER = 8, OTHER_VENUE = 9;
    /* status (output) */
    public static final int ACTIVE = 1, CLOSED = 2, CHANGED = 3;
    /* origin (output) */
    public static final int FROM_COUNTY = 1, FROM_FIELD = 2;
    /* code types for {@link Library#code}, {@link Library#label}, {@link Library#parseCode} */
    public static final int CODE_KIND = 1, CODE_STATUS = 2, CODE_ORIGIN = 3, CODE_SCHOOL_LEVEL = 4,
            CODE_MED_REGISTRATION = 5, CODE_INSTITUTION_TYPE = 6, CODE_INDUSTRY = 7,
            CODE_HAZARD_LEVEL = 8, CODE_VENUE_TYPE = 9;

    public String id, name, address, creditCode, placeCode, legalRep, manager, licenceNo,
            licenceScope, licenceValidFrom, licenceValidTo, note;
    /** 主管机构: a water supply's or school's competent authority, told of a new or changed
     *  site ({@link Store#addAuthorityNotice}); null: none known. */
    public String authority;
    public int kind;
    public boolean hasLocation;
    public double lat, lon;
    public int status, origin;
    public int schoolLevel, boarding = UNKNOWN, enrolment = UNKNOWN;
    public int medRegistration, institutionType, beds = UNKNOWN, jointVenture = UNKNOWN,
            validationDeferred = UNKNOWN;
    public int industry, hazardLevel, venueType;
    /** Output only. */
    public long createdAtMs, updatedAtMs, revision;
    /** From {@link Store#sitesNear}: metres from the point; otherwise -1. */
    public double distanceM = -1;

    public Site() {
    }

    public Site(int kind, String name) {
        this.kind = kind;
        this.name = name;
    }

    /* The order of fields across the binding: the glue's site_in/site_rows. */
    byte[][] strs() {
        String[] s = {id, name, address, creditCode, placeCode, legalRep, manager, licenceNo,
                      licenceScope, licenceValidFrom, licenceValidTo, note, authority};
        byte[][] b = new byte[s.length][];
        for (int i = 0; i < s.length; i++) {
            b[i] = Rows.utf8(s[i]);
        }
        return b;
    }

    int[] ints() {
        return new int[] {kind, hasLocation ? 1 : 0, status, origin, schoolLevel, boarding, enrolment,
                          medRegistration, institutionType, beds, jointVenture, validationDeferred,
                          industry, hazardLevel, venueType};
    }

    double[] dbls() {
        return new double[] {lat, lon};
    }

    static Site read(Rows r) {
        Site s = new Site();
        s.id = r.str();
        s.name = r.str();
        s.address = r.str();
        s.creditCode = r.str();
        s.placeCode = r.str();
        s.legalRep = r.str();
        s.manager = r.str();
        s.licenceNo = r.str();
        s.licenceScope = r.str();
        s.licenceValidFrom = r.str();
        s.licenceValidTo = r.str();
        s.note = r.str();
        s.authority = r.str();
        s.kind = r.i32();
        s.hasLocation = r.num() != 0;
        s.status = r.i32();
        s.origin = r.i32();
        s.schoolLevel = r.i32();
        s.boarding = r.i32();
        s.enrolment = r.i32();
        s.medRegistration = r.i32();
        s.institutionType = r.i32();
        s.beds = r.i32();
        s.jointVenture = r.i32();
        s.validationDeferred = r.i32();
        s.industry = r.i32();
        s.hazardLevel = r.i32();
        s.venueType = r.i32();
        s.createdAtMs = r.num();
        s.updatedAtMs = r.num();
        s.revision = r.num();
        s.lat = r.dbl();
        s.lon = r.dbl();
        return s;
    }

    /** The site as the JSON object the outbox uploads (fic_site_to_json). */
    public String toJson() {
        return Rows.text(Native.siteToJson(strs(), ints(), dbls()));
    }
}
