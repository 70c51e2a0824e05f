package org.fieldinspect;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The urgent leads that should go by SMS now, most pressing first
 * (fic_lead_sms_due_json, sms.h).
 */
public final class SmsDue {
    /** A lead to send. */
    public static final class Item {
        public final String leadId, title;
        public final long remainingMs;

        Item(Map<String, Object> m) {
            leadId = Json.string(m, "lead_id");
            title = Json.string(m, "title");
            remainingMs = Json.number(m, "remaining_ms", 0);
        }
    }

    /** The setting "sms_fallback_minutes" (0: SMS only when asked). */
    public final int fallbackMinutes;
    /** The gateway's number, or null when none is set. */
    public final String recipient;
    public final List<Item> leads;

    SmsDue(Map<String, Object> m) {
        fallbackMinutes = (int) Json.number(m, "fallback_minutes", 0);
        recipient = Json.string(m, "recipient");
        List<Item> l = new ArrayList<Item>();
        for (Map<String, Object> o : Json.maps(m.get("leads"))) {
            l.add(new Item(o));
        }
        leads = Collections.unmodifiableList(l);
    }
}
