package org.fieldinspect;

/** One entry of the append-only audit log (fic_audit_entry). {@link #detail} is JSON. */
public final class AuditEntry {
    public final long seq, atMs;
    public final String actor, action, entity, entityId, detail;

    AuditEntry(Rows r) {
        seq = r.num();
        atMs = r.num();
        actor = r.str();
        action = r.str();
        entity = r.str();
        entityId = r.str();
        detail = r.str();
    }
}
