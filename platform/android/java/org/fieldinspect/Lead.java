package org.fieldinspect;

/**
 * A lead as listed (fic_lead_info): with the two-hour clock of an urgent
 * lead — its deadline and the time left on trusted time, and whether it is
 * at risk (not delivered and the deadline, less the clock's doubt, within
 * 30 minutes: the app tells the inspector to phone the agency).
 */
public final class Lead {
    /** fic_lead_file flag: keep it a draft (to attach photos), submit later. */
    public static final int DRAFT = 1;

    public final String id, category, area, title, state, reportTo, siteId, rejectReason;
    public final boolean urgent, atRisk;
    public final long discoveredAtMs, deadlineAtMs, remainingMs, receiptAtMs;
    public final int timeFlags;
    /** How many answers were sealed at submission (an informant's name or phone, a diner's
     *  phone): show them as sealed, the device cannot read them. 0: none. */
    public final int sealed;
    /** The first phone or fax call that reported it ({@link Store#recordLeadCall}), or 0. */
    public final long calledAtMs;

    Lead(Rows r) {
        id = r.str();
        category = r.str();
        area = r.str();
        title = r.str();
        state = r.str();
        reportTo = r.str();
        siteId = r.str();
        rejectReason = r.str();
        urgent = r.num() != 0;
        discoveredAtMs = r.num();
        deadlineAtMs = r.num();
        remainingMs = r.num();
        atRisk = r.num() != 0;
        timeFlags = r.i32();
        receiptAtMs = r.num();
        sealed = r.i32();
        calledAtMs = r.num();
    }
}
