package org.fieldinspect;

import java.util.Map;

/** One of a site's codes (一门一码; fic_site_codes_json, schema/api/site_codes.schema.json). */
public final class SiteCode {
    public final String key, payload, label;
    /** The site's own place_code field. */
    public final boolean primary;

    SiteCode(Map<String, Object> m) {
        key = Json.string(m, "key");
        payload = Json.string(m, "payload");
        label = Json.string(m, "label");
        primary = Json.bool(m, "primary");
    }
}
