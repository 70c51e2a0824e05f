package org.fieldinspect;

import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * What finishing an inspection filed (fic_inspection_finish's summary):
 * the number of findings, every lead of the inspection (urgent first,
 * including urgent leads filed while it was answered) and which are urgent.
 */
public final class FinishSummary {
    public final int findings;
    public final List<String> leads, urgentLeads;
    /** The document as the core wrote it. */
    public final String json;

    FinishSummary(String json) {
        Map<String, Object> m = Json.object(json);
        this.json = json;
        findings = (int) Json.number(m, "findings", 0);
        leads = Collections.unmodifiableList(Json.strings(m, "leads"));
        urgentLeads = Collections.unmodifiableList(Json.strings(m, "urgent_leads"));
    }
}
