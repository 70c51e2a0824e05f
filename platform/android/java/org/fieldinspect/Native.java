package org.fieldinspect;

import java.util.ArrayList;
import java.util.List;

/**
 * The native methods: one per C function of the public API
 * (platform/android/jni/fieldinspect_jni.c registers them in JNI_OnLoad).
 * Text is UTF-8 byte[]; records come back as {@link Rows}. Package-private:
 * apps use {@link Store} and friends.
 */
final class Native {
    private Native() {
    }

    static {
        String path = System.getProperty("org.fieldinspect.library");
        if (path != null) {
            System.load(path);
        } else {
            System.loadLibrary("fieldinspect_jni");
        }
    }

    /** Loads the library (the static initialiser) if it is not loaded yet. */
    static void load() {
    }

    static native long storeOpen(byte[] path, byte[] actor, int busyTimeoutMs, byte[] dataDir,
                                 byte[] logTag, int logLevel, SecretStore secrets);
    static native void storeClose(long h);
    static native byte[] storeDeviceId(long h);
    static native void storeCheck(long h);
    static native int storeSchemaVersion();
    static native byte[] storeNewId(long h);
    static native long[] storeStatsGet(long h);
    static native Object[] auditListGet(long h, byte[] entityId, long limit);

    static native Object[] siteAdd(long h, byte[][] s, int[] i, double[] d, byte[] reason);
    static native Object[] siteUpdate(long h, byte[][] s, int[] i, double[] d, byte[] reason);
    static native void siteClose(long h, byte[] id, byte[] reason);
    static native Object[] siteGet(long h, byte[] id);
    static native Object[] siteFindByPlaceCode(long h, byte[] payload);
    static native Object[] siteFindByCreditCode(long h, byte[] code);
    static native Object[] siteSearch(long h, int kind, byte[] namePart, long limit);
    static native Object[] siteNear(long h, double lat, double lon, double radiusM, long limit);
    static native byte[] siteToJson(byte[][] s, int[] i, double[] d);
    static native byte[] siteCodeStr(int type, int value);
    static native byte[] siteCodeLabel(int type, int value);
    static native int siteCodeParse(int type, byte[] code);
    static native void creditCodeCheck(byte[] code);

    static native Object[] checklistListGet(long h, int siteKind, int flags);
    static native byte[] checklistGetJson(long h, byte[] id, int version);
    static native void checklistInstall(long h, byte[] json);
    static native byte[] inspectionStart(long h, byte[] siteId, byte[] checklistId);
    static native void inspectionAnswer(long h, byte[] inspectionId, byte[] itemId, byte[] value);
    static native void inspectionNote(long h, byte[] inspectionId, byte[] itemId, byte[] note);
    static native void inspectionReportSite(long h, byte[] inspectionId, int finding, byte[] reason,
                                            byte[][] s, int[] i, double[] d);
    static native byte[] inspectionGetJson(long h, byte[] inspectionId);
    static native byte[] inspectionFinish(long h, byte[] inspectionId);
    static native byte[] inspectionOpinion(long h, byte[] inspectionId, int format);

    static native byte[] leadFile(long h, byte[] formId, byte[] answersJson, byte[] siteId,
                                  long discoveredAtMs, int flags);
    static native void leadSubmit(long h, byte[] leadId);
    static native byte[] leadCorrect(long h, byte[] leadId, byte[] note);
    static native Object[] leadListGet(long h, long limit);
    static native byte[] leadGetJson(long h, byte[] leadId);
    static native byte[] taskListJson(long h);
    static native byte[] dueJson(long h);
    static native byte[] statsJson(long h, int year);
    static native void settingSet(long h, byte[] key, byte[] value);
    static native byte[] settingGet(long h, byte[] key);

    static native byte[] photoAddBuffer(long h, int owner, byte[] ownerId, byte[] itemId,
                                        byte[] jpeg, int[] opts, double[] optsD);
    static native byte[] photoAddFile(long h, int owner, byte[] ownerId, byte[] itemId,
                                      byte[] path, int[] opts, double[] optsD);
    static native Object[] photoGet(long h, byte[] photoId);
    static native byte[] photoRender(byte[] jpeg, int maxEdge, int quality);

    static native byte[] evidenceVerify(long h);
    static native byte[] chainVerify(byte[] submissionsJson, byte[] expectedPrevHash, long firstSeq);
    static native Object[] timeNow(long h);
    static native void timeContact(long h, long serverMs, long rttMs);

    static native long cancelNew();
    static native void cancelRequest(long c);
    static native void cancelReset(long c);
    static native boolean cancelRequested(long c);
    static native void cancelFree(long c);

    static native long[] syncEnroll(long h, Transport t, byte[] url, long cancel, byte[] code,
                                    byte[] deviceName, long[] limits);
    static native byte[] syncEnrolled(long h);
    static native void syncUnenroll(long h);
    static native long[] syncRun(long h, Transport t, byte[] url, long cancel, SyncListener l,
                                 boolean noGzip, long[] limits);
    static native long[] syncPush(long h, Transport t, byte[] url, long cancel, SyncListener l,
                                  boolean noGzip, long[] limits);
    static native long[] syncPull(long h, Transport t, byte[] url, long cancel, SyncListener l,
                                  boolean noGzip, long[] limits);
    static native void syncNetworkChanged(long h, boolean available);
    static native Object[] syncRejectionsGet(long h);

    static native boolean storeReadOnly(long h);
    static native byte[] dueSummaryJson(long h);
    static native byte[] duePageJson(long h, byte[] area, byte[] cursor, int limit);
    static native void taskComplete(long h, byte[] taskId, byte[] inspectionId, byte[] note);
    static native void leadCallRecord(long h, byte[] leadId, byte[] method, long calledAtMs,
                                      byte[] toWhom, byte[] note);
    static native byte[] siteReport(long h, byte[] siteId, int finding, byte[] reason,
                                    byte[][] s, int[] i, double[] d);
    static native byte[] inspectionStartOpts(long h, byte[] siteId, byte[] checklistId,
                                             int visitMode, byte[] scanId);
    static native Object[] placeCodeParse(byte[] payload);
    static native void siteCodeAdd(long h, byte[] siteId, byte[] payload, byte[] label);
    static native void siteCodeRemove(long h, byte[] siteId, byte[] payload);
    static native byte[] siteCodesJson(long h, byte[] siteId);
    static native byte[] visitScan(long h, byte[] payload, boolean hasLocation, double lat,
                                   double lon, double accuracyM);
    static native byte[] registerGet(long h, int which, byte[] month, byte[] area, int format);
    static native byte[] activityAdd(long h, int kind, int people, byte[][] strs);
    static native byte[] activityListJson(long h, int year, int kind);
    static native byte[] sampleAdd(long h, long takenAtMs, byte[][] strs);
    static native void sampleResultSet(long h, byte[] sampleNo, boolean passed, byte[] reportedOn,
                                       byte[] detail);
    static native byte[] sampleListJson(long h, byte[] siteId);
    static native byte[] authorityNoticeAdd(long h, byte[] siteId, int reason, byte[] authority,
                                            byte[] method, byte[] note);
    /** Documents without arguments: the values of storeJson's {@code which}. */
    static final int DOC_NOTICES_DUE = 1, DOC_WATER_STATUS = 2, DOC_PATROL_PLAN = 3,
            DOC_SMS_DUE = 4;
    static native byte[] storeJson(long h, int which);
    static native void patrolPlanSet(long h, byte[] json);
    static native Object[] leadSms(long h, byte[] leadId);
    static native void leadSmsSent(long h, byte[] leadId);
    static native void leadSmsReceipt(long h, byte[] leadId, byte[] text);

    static native byte[] version();
    static native byte[] errorLast();
    static native byte[] resultStr(int code);
    static native long[] debugCounters();

    /** The thread's last error as an exception (after a native call that returned a status). */
    static FicException lastError(SyncReport report) {
        byte[] b = errorLast();
        int code = ((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff);
        String msg = new String(b, 4, b.length - 4, java.nio.charset.StandardCharsets.UTF_8);
        return new FicException(code, msg, report);
    }

    /* ---- called from C ---- */

    /** The engine's request, through the app's transport (the syncing thread). */
    static Object[] bridgeRequest(Transport t, byte[] method, byte[] url, Object[] headers,
                                  byte[] body, long connectMs, long lowSpeedMs, long lowSpeedBytes,
                                  long totalMs, long maxBytes, long cancel) {
        List<String[]> h = new ArrayList<String[]>();
        for (int i = 0; i + 1 < headers.length; i += 2) {
            h.add(new String[] {Rows.text((byte[]) headers[i]), Rows.text((byte[]) headers[i + 1])});
        }
        HttpRequest r = new HttpRequest(Rows.text(method), Rows.text(url), h,
                body == null ? new byte[0] : body, connectMs, lowSpeedMs, lowSpeedBytes, totalMs,
                maxBytes, cancel);
        HttpResponse resp = t.execute(r);
        if (resp == null) {
            throw new FicException(Status.ERROR, "the transport returned no response");
        }
        long[] meta = {resp.status, resp.serverTimeMs, resp.retryAfterMs, resp.uploadOffset,
                       resp.contentEncoding};
        return new Object[] {meta, resp.body};
    }

    /** The store's secret hooks, through the app's SecretStore (the store's thread). */
    static byte[] bridgeSecretGet(SecretStore s, byte[] storePath, byte[] name) throws Exception {
        return s.get(Rows.text(storePath), Rows.text(name));
    }

    static void bridgeSecretPut(SecretStore s, byte[] storePath, byte[] name, byte[] value)
            throws Exception {
        s.put(Rows.text(storePath), Rows.text(name), value);
    }

    static void bridgeSecretDelete(SecretStore s, byte[] storePath, byte[] name) throws Exception {
        s.delete(Rows.text(storePath), Rows.text(name));
    }

    static void bridgeProgress(SyncListener l, long recordsDone, long recordsTotal, long bytesSent,
                               int urgentPending, long photosDone, long photosPending) {
        l.onProgress(new SyncProgress(recordsDone, recordsTotal, bytesSent, urgentPending,
                photosDone, photosPending));
    }
}
