package org.fieldinspect;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * A place code scanned at the door (fic_visit_scan, visit.h;
 * schema/api/scan.schema.json): the scan recorded as proof of presence, the
 * site whose code it is, and how the facts the code carries differ from the
 * registry. Start the visit with
 * {@link Store#startInspection(String, String, int, String)} and {@link #scanId}.
 */
public final class ScanResult {
    /** A fact the code carries that the registry has otherwise. */
    public static final class Difference {
        /** name, address, legal_rep, manager, licence_scope, credit_code or licence_no. */
        public final String field, registry, code;

        Difference(Map<String, Object> m) {
            field = Json.string(m, "field");
            registry = Json.string(m, "registry");
            code = Json.string(m, "code");
        }
    }

    public final String scanId, siteId, siteName, siteKind;
    /** "url", "text" or "token", and the code's key. */
    public final String codeForm, codeKey;
    public final List<Difference> differences;
    public final boolean matchesRegistry;
    /** The proof: trusted time, its uncertainty and flags, where, and the chain entry. */
    public final long trustedMs, uncertaintyMs, chainSeq;
    public final int timeFlags;
    /** NaN when the scan had no position. */
    public final double lat, lon;
    public final String hash;

    ScanResult(Map<String, Object> m) {
        scanId = Json.string(m, "scan_id");
        Map<String, Object> site = Json.map(m.get("site"));
        siteId = Json.string(site, "id");
        siteName = Json.string(site, "name");
        siteKind = Json.string(site, "kind");
        Map<String, Object> code = Json.map(m.get("code"));
        codeForm = Json.string(code, "form");
        codeKey = Json.string(code, "key");
        List<Difference> d = new ArrayList<Difference>();
        for (Map<String, Object> o : Json.maps(m.get("differences"))) {
            d.add(new Difference(o));
        }
        differences = Collections.unmodifiableList(d);
        matchesRegistry = Json.bool(m, "matches_registry");
        Map<String, Object> p = Json.map(m.get("proof"));
        trustedMs = Json.number(p, "trusted_ms", 0);
        uncertaintyMs = Json.number(p, "uncertainty_ms", 0);
        timeFlags = (int) Json.number(p, "time_flags", 0);
        lat = Json.dbl(p, "lat", Double.NaN);
        lon = Json.dbl(p, "lon", Double.NaN);
        chainSeq = Json.number(p, "chain_seq", 0);
        hash = Json.string(p, "hash");
    }
}
