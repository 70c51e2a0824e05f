package org.fieldinspect;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The result of {@link Store#verifyEvidence()} (fic_evidence_verify): what
 * was checked, and each problem found (a broken chain link, a record edited
 * in the database, a photo file altered or missing).
 */
public final class EvidenceReport {
    public final boolean ok;
    public final long chainEntries, records, photos;
    public final List<Problem> problems;
    /** The document as the core wrote it. */
    public final String json;

    /** One problem: its kind, the record (may be null) and what is wrong. */
    public static final class Problem {
        public final String kind, id, detail;

        Problem(Map<String, Object> m) {
            kind = Json.string(m, "kind");
            id = Json.string(m, "id");
            detail = Json.string(m, "detail");
        }
    }

    @SuppressWarnings("unchecked")
    EvidenceReport(String json) {
        Map<String, Object> m = Json.object(json);
        this.json = json;
        Object c = m.get("checked");
        Map<String, Object> checked = c instanceof Map ? (Map<String, Object>) c
                : new java.util.HashMap<String, Object>();
        chainEntries = Json.number(checked, "chain_entries", 0);
        records = Json.number(checked, "records", 0);
        photos = Json.number(checked, "photos", 0);
        List<Problem> p = new ArrayList<Problem>();
        for (Object o : Json.list(m, "problems")) {
            if (o instanceof Map) {
                p.add(new Problem((Map<String, Object>) o));
            }
        }
        problems = Collections.unmodifiableList(p);
        ok = Json.bool(m, "ok") && p.isEmpty();
    }
}
