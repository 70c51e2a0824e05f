package org.fieldinspect;

/**
 * What a scanned place code (场所码) says (fic_place_code, visit.h): the
 * place's identity in normal form and the facts the code carries (null when
 * it carries none). Made by {@link Library#parsePlaceCode}.
 */
public final class PlaceCode {
    /** How the code was written (fic_place_code_form). */
    public static final int URL = 1, TEXT = 2, TOKEN = 3;

    public final int form;
    /** The place's identity in normal form; never null. */
    public final String key;
    public final String code, name, address, legalRep, manager, scope, creditCode, licenceNo;

    PlaceCode(Rows r) {
        form = r.i32();
        key = r.str();
        code = r.str();
        name = r.str();
        address = r.str();
        legalRep = r.str();
        manager = r.str();
        scope = r.str();
        creditCode = r.str();
        licenceNo = r.str();
    }
}
