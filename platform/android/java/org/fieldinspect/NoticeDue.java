package org.fieldinspect;

import java.util.Map;

/**
 * A water supply or school whose competent authority is still to be told
 * (fic_authority_notices_due_json, records.h; schema/api/notices_due.schema.json).
 */
public final class NoticeDue {
    /** Reasons (fic_notice_reason), for {@link Store#addAuthorityNotice}. */
    public static final int NEW_SITE = 1, CHANGED = 2, ABNORMAL = 3;

    public final String siteId, name;
    /** water_rural, water_secondary or school. */
    public final String kind;
    /** The site's authority, or null when the registry names none (give one with the notice). */
    public final String authority;
    /** "new_site" or "changed". */
    public final String reason;

    NoticeDue(Map<String, Object> m) {
        siteId = Json.string(m, "site_id");
        name = Json.string(m, "name");
        kind = Json.string(m, "kind");
        authority = Json.string(m, "authority");
        reason = Json.string(m, "reason");
    }
}
