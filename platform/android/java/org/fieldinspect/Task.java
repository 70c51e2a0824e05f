package org.fieldinspect;

import java.util.Map;

/** An open task (fic_task_list_json): a re-inspection due by a date. */
public final class Task {
    public final String id, kind, source, siteId, siteName, leadId, dueDate, detail;
    public final boolean overdue;

    Task(Map<String, Object> m) {
        id = Json.string(m, "id");
        kind = Json.string(m, "kind");
        source = Json.string(m, "source");
        siteId = Json.string(m, "site_id");
        siteName = Json.string(m, "site_name");
        leadId = Json.string(m, "lead_id");
        dueDate = Json.string(m, "due_date");
        detail = Json.string(m, "detail");
        overdue = Json.bool(m, "overdue");
    }
}
