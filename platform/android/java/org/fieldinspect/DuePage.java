package org.fieldinspect;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * One page of an area's due sites (fic_due_page_json, lead.h;
 * schema/api/due_page.schema.json): most overdue first, and the cursor of the
 * next page ({@code null} on the last).
 */
public final class DuePage {
    /** A due site. */
    public static final class Item {
        public final String siteId, name, kind;
        /** The date of the last finished patrol in the area (YYYY-MM-DD), or null: never. */
        public final String lastPatrol;
        public final int patrolsThisYear;
        /** "school_semester": the semester's first month is over. */
        public final boolean overdue;

        Item(Map<String, Object> m) {
            siteId = Json.string(m, "site_id");
            name = Json.string(m, "name");
            kind = Json.string(m, "kind");
            lastPatrol = Json.string(m, "last_patrol");
            patrolsThisYear = (int) Json.number(m, "patrols_this_year", 0);
            overdue = Json.bool(m, "overdue");
        }
    }

    public final String area, today;
    public final List<Item> items;
    /** Pass to the next call for the following page; null on the last page. */
    public final String next;
    /** "school_semester" only: the current semester's start and the end of its first month. */
    public final String semesterStart, firstMonthEnds;

    DuePage(Map<String, Object> m) {
        area = Json.string(m, "area");
        today = Json.string(m, "today");
        List<Item> l = new ArrayList<Item>();
        for (Map<String, Object> o : Json.maps(m.get("items"))) {
            l.add(new Item(o));
        }
        items = Collections.unmodifiableList(l);
        next = Json.string(m, "next");
        semesterStart = Json.string(m, "semester_start");
        firstMonthEnds = Json.string(m, "first_month_ends");
    }
}
