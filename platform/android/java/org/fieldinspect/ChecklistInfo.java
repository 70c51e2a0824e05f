package org.fieldinspect;

/** A checklist or event form as listed (fic_checklist_info). */
public final class ChecklistInfo {
    public final String id, area, titleZh, titleEn;
    public final int version, items;
    public final boolean isEvent, builtin;

    /** Flags for {@link Store#checklists}: FIC_CHECKLIST_*. */
    public static final int PATROLS = 1, EVENTS = 2, ALL_VERSIONS = 4;

    ChecklistInfo(Rows r) {
        id = r.str();
        area = r.str();
        titleZh = r.str();
        titleEn = r.str();
        version = r.i32();
        isEvent = r.num() != 0;
        builtin = r.num() != 0;
        items = r.i32();
    }
}
