/*
 * platform/android/jni/fieldinspect_jni.c — the JNI glue under the Java API
 * (platform/android/java/org/fieldinspect). One native method per C
 * function, registered with RegisterNatives in JNI_OnLoad; no business logic
 * here: arguments are converted, the C function is called, its result or its
 * error comes back.
 *
 * Conventions (docs/android.md, "The binding"):
 *  - Text crosses as UTF-8 byte[] both ways — never GetStringUTFChars /
 *    NewStringUTF, whose "modified UTF-8" turns a character outside the BMP
 *    (U+2000B 𠀋 in place names, emoji) into a surrogate pair the core
 *    rightly refuses. A NUL inside input text cannot reach the C API (its
 *    strings end at NUL): it is refused with FIC_EINVAL, never cut short.
 *  - A failure throws org.fieldinspect.FicException (status code and the
 *    core's message) from inside the same native call.
 *  - Records come back as "rows": one byte[] holding every string, an int[]
 *    of (offset, length) pairs (-1 for NULL), a long[] and a double[] — four
 *    local references whatever the count, so a list of 10 000 sites never
 *    overflows the local reference table; Java builds the typed objects.
 *  - Callbacks (the Java transport, the progress listener) run inside a
 *    local frame of their own, popped before they return, on the calling
 *    thread — except a transport that says it may run concurrently
 *    (Transport.concurrent()): the engine also calls it from its photo lane
 *    threads, each attached to the JVM at its first call and detached as it
 *    exits (before the pass returns), and it is held by a global reference
 *    for the pass.
 *  - Handles are jlong pointers; the Java side guards them (closed handle,
 *    second thread) before calling in, and the natives check for 0.
 *  - The binding installs a counting allocator (fic_allocator_set) before
 *    anything else runs, so tests can see that the core's heap stays flat;
 *    global references made here are counted too.
 */
#include <fieldinspect/fieldinspect.h>
#include <fieldinspect/sys/platform_android.h>

#include <jni.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NATIVE_CLASS "org/fieldinspect/Native"
#define EXCEPTION_CLASS "org/fieldinspect/FicException"

static JavaVM *jvm;
static jclass c_native, c_exception, c_object;
static jmethodID m_exception_init, m_exception_code, m_exception_bytes;
static jmethodID m_bridge_request, m_bridge_progress, m_transport_concurrent;
static jmethodID m_secret_get, m_secret_put, m_secret_delete;
static atomic_long global_refs;
static atomic_long live_blocks;

/* ---- the counting allocator ---- */

static void *count_realloc(void *ptr, size_t size, void *payload)
{
	(void)payload;
	void *p = realloc(ptr, size);
	if (p != NULL && ptr == NULL)
		atomic_fetch_add(&live_blocks, 1);
	return p;
}

static void count_free(void *ptr, void *payload)
{
	(void)payload;
	if (ptr != NULL) {
		atomic_fetch_sub(&live_blocks, 1);
		free(ptr);
	}
}

static jobject global_ref(JNIEnv *env, jobject o)
{
	jobject g = (*env)->NewGlobalRef(env, o);
	if (g)
		atomic_fetch_add(&global_refs, 1);
	return g;
}

/* ---- errors ---- */

static jbyteArray bytes_of(JNIEnv *env, const char *s);

/* Throw FicException(code, message). Returns code for `return throw_fic(...)`. */
static int throw_fic(JNIEnv *env, int code, const char *message)
{
	if ((*env)->ExceptionCheck(env))
		return code; /* one already on its way (e.g. OutOfMemoryError) */
	jbyteArray msg = bytes_of(env, message ? message : fic_result_str(code));
	if (msg == NULL)
		return code;
	jobject e = (*env)->NewObject(env, c_exception, m_exception_init, (jint)code, msg);
	if (e)
		(*env)->Throw(env, (jthrowable)e);
	(*env)->DeleteLocalRef(env, msg);
	(*env)->DeleteLocalRef(env, e);
	return code;
}

/* After a C call: throw its error unless it succeeded. True when it succeeded. */
static bool ok(JNIEnv *env, int rc)
{
	if (rc == FIC_OK)
		return true;
	const fic_error *e = fic_error_last();
	throw_fic(env, rc, e->code == rc ? e->message : fic_result_str(rc));
	return false;
}

/* ---- text ---- */

static jbyteArray bytes_of(JNIEnv *env, const char *s)
{
	if (s == NULL)
		return NULL;
	jsize n = (jsize)strlen(s);
	jbyteArray a = (*env)->NewByteArray(env, n);
	if (a && n)
		(*env)->SetByteArrayRegion(env, a, 0, n, (const jbyte *)s);
	return a;
}

/*
 * A NUL-terminated copy of a UTF-8 byte[] (NULL for null). False (with an
 * exception thrown) when it holds a NUL or memory ran out. Free with free().
 */
static bool text_in(JNIEnv *env, jbyteArray a, char **out, const char *what)
{
	*out = NULL;
	if (a == NULL)
		return true;
	jsize n = (*env)->GetArrayLength(env, a);
	char *s = malloc((size_t)n + 1);
	if (s == NULL) {
		throw_fic(env, FIC_ENOMEM, "out of memory copying text");
		return false;
	}
	(*env)->GetByteArrayRegion(env, a, 0, n, (jbyte *)s);
	s[n] = '\0';
	if (memchr(s, '\0', (size_t)n) != NULL) {
		char msg[160];
		snprintf(msg, sizeof msg, "%s contains a NUL character (U+0000), which the core's "
		                          "text cannot hold", what);
		free(s);
		throw_fic(env, FIC_EINVAL, msg);
		return false;
	}
	*out = s;
	return true;
}

/* ---- rows: records out ---- */

typedef struct rows {
	char *blob;
	size_t blen, bcap;
	jint *offs;
	size_t noffs, ocap;
	jlong *nums;
	size_t nn, ncap;
	jdouble *dbl;
	size_t nd, dcap;
	bool oom;
} rows;

static bool grow(void **p, size_t *cap, size_t need, size_t unit)
{
	if (need <= *cap)
		return true;
	size_t n = *cap ? *cap * 2 : 64;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * unit);
	if (q == NULL)
		return false;
	*p = q;
	*cap = n;
	return true;
}

static void rows_str(rows *r, const char *s)
{
	if (r->oom || !grow((void **)&r->offs, &r->ocap, r->noffs + 2, sizeof(jint))) {
		r->oom = true;
		return;
	}
	if (s == NULL) {
		r->offs[r->noffs++] = -1;
		r->offs[r->noffs++] = 0;
		return;
	}
	size_t n = strlen(s);
	if (!grow((void **)&r->blob, &r->bcap, r->blen + n, 1) || r->blen + n > INT32_MAX) {
		r->oom = true;
		return;
	}
	memcpy(r->blob + r->blen, s, n);
	r->offs[r->noffs++] = (jint)r->blen;
	r->offs[r->noffs++] = (jint)n;
	r->blen += n;
}

static void rows_num(rows *r, int64_t v)
{
	if (r->oom || !grow((void **)&r->nums, &r->ncap, r->nn + 1, sizeof(jlong))) {
		r->oom = true;
		return;
	}
	r->nums[r->nn++] = (jlong)v;
}

static void rows_dbl(rows *r, double v)
{
	if (r->oom || !grow((void **)&r->dbl, &r->dcap, r->nd + 1, sizeof(jdouble))) {
		r->oom = true;
		return;
	}
	r->dbl[r->nd++] = v;
}

static void rows_free(rows *r)
{
	free(r->blob);
	free(r->offs);
	free(r->nums);
	free(r->dbl);
}

/* Object[]{byte[] blob, int[] offsets, long[] numbers, double[] doubles}; frees r. */
static jobjectArray rows_finish(JNIEnv *env, rows *r)
{
	jobjectArray out = NULL;
	if (r->oom) {
		throw_fic(env, FIC_ENOMEM, "out of memory returning records");
		rows_free(r);
		return NULL;
	}
	jbyteArray b = (*env)->NewByteArray(env, (jsize)r->blen);
	jintArray o = b ? (*env)->NewIntArray(env, (jsize)r->noffs) : NULL;
	jlongArray n = o ? (*env)->NewLongArray(env, (jsize)r->nn) : NULL;
	jdoubleArray d = n ? (*env)->NewDoubleArray(env, (jsize)r->nd) : NULL;
	if (d) {
		if (r->blen)
			(*env)->SetByteArrayRegion(env, b, 0, (jsize)r->blen, (const jbyte *)r->blob);
		if (r->noffs)
			(*env)->SetIntArrayRegion(env, o, 0, (jsize)r->noffs, r->offs);
		if (r->nn)
			(*env)->SetLongArrayRegion(env, n, 0, (jsize)r->nn, r->nums);
		if (r->nd)
			(*env)->SetDoubleArrayRegion(env, d, 0, (jsize)r->nd, r->dbl);
		out = (*env)->NewObjectArray(env, 4, c_object, NULL);
		if (out) {
			(*env)->SetObjectArrayElement(env, out, 0, b);
			(*env)->SetObjectArrayElement(env, out, 1, o);
			(*env)->SetObjectArrayElement(env, out, 2, n);
			(*env)->SetObjectArrayElement(env, out, 3, d);
		}
	}
	(*env)->DeleteLocalRef(env, b);
	(*env)->DeleteLocalRef(env, o);
	(*env)->DeleteLocalRef(env, n);
	(*env)->DeleteLocalRef(env, d);
	rows_free(r);
	return out;
}

/* ---- the store handle ---- */

typedef struct jstore {
	fic_store *store;
	fic_android_platform *platform;
	jobject secrets; /* the app's SecretStore (a global reference), or NULL */
} jstore;

static fic_store *store_of(JNIEnv *env, jlong h)
{
	jstore *s = (jstore *)(intptr_t)h;
	if (s == NULL || s->store == NULL) {
		throw_fic(env, FIC_EINVAL, "the store is closed");
		return NULL;
	}
	return s->store;
}

#define STORE_OR(ret)                                \
	fic_store *store = store_of(env, h);         \
	if (store == NULL)                           \
		return ret

#define TEXT_OR(var, arr, what, ret)                 \
	char *var;                                   \
	if (!text_in(env, arr, &var, what))          \
		return ret

/* Return a string the library allocated as byte[] (and free it). */
static jbyteArray take_text(JNIEnv *env, int rc, char *s)
{
	jbyteArray a = NULL;
	if (ok(env, rc))
		a = bytes_of(env, s);
	fic_free(s);
	return a;
}

/*
 * The store's secret hooks (sys/platform.h) through the app's SecretStore:
 * called on the thread using the store, inside one of its native calls, so
 * that thread is attached and has a JNIEnv. A Java exception is cleared
 * here and becomes FIC_EIO (the store's call then fails and throws its own
 * FicException); the values never cross as Java Strings.
 */
static JNIEnv *secret_env(void)
{
	JNIEnv *env = NULL;
	if (jvm == NULL || (*jvm)->GetEnv(jvm, (void **)&env, JNI_VERSION_1_6) != JNI_OK)
		return NULL;
	return env;
}

static int secret_failed(JNIEnv *env)
{
	if (!(*env)->ExceptionCheck(env))
		return FIC_OK;
	(*env)->ExceptionClear(env);
	return fic_error_set(FIC_EIO, "the app's SecretStore failed");
}

static int jni_secret_get(void *ctx, const char *store_path, const char *name, void *buf,
                          size_t size, size_t *len)
{
	jstore *s = ctx;
	JNIEnv *env = secret_env();
	if (env == NULL || (*env)->PushLocalFrame(env, 8) != 0)
		return FIC_EIO;
	jbyteArray p = bytes_of(env, store_path), n = bytes_of(env, name);
	jbyteArray v = p && n ? (jbyteArray)(*env)->CallStaticObjectMethod(env, c_native, m_secret_get,
	                                                                   s->secrets, p, n)
	                      : NULL;
	int rc = secret_failed(env);
	if (rc == FIC_OK && v == NULL) {
		rc = FIC_ENOTFOUND;
	} else if (rc == FIC_OK) {
		jsize vn = (*env)->GetArrayLength(env, v);
		*len = (size_t)vn;
		if ((size_t)vn > size)
			rc = FIC_ETOOBIG;
		else
			(*env)->GetByteArrayRegion(env, v, 0, vn, (jbyte *)buf);
	}
	(*env)->PopLocalFrame(env, NULL);
	return rc;
}

static int jni_secret_put(void *ctx, const char *store_path, const char *name, const void *value,
                          size_t len)
{
	jstore *s = ctx;
	JNIEnv *env = secret_env();
	if (env == NULL || (*env)->PushLocalFrame(env, 8) != 0)
		return FIC_EIO;
	jbyteArray p = bytes_of(env, store_path), n = bytes_of(env, name);
	jbyteArray v = (*env)->NewByteArray(env, (jsize)len);
	if (p && n && v) {
		(*env)->SetByteArrayRegion(env, v, 0, (jsize)len, (const jbyte *)value);
		(*env)->CallStaticVoidMethod(env, c_native, m_secret_put, s->secrets, p, n, v);
	}
	int rc = p && n && v ? secret_failed(env) : FIC_EIO;
	(*env)->ExceptionClear(env);
	(*env)->PopLocalFrame(env, NULL);
	return rc;
}

static int jni_secret_delete(void *ctx, const char *store_path, const char *name)
{
	jstore *s = ctx;
	JNIEnv *env = secret_env();
	if (env == NULL || (*env)->PushLocalFrame(env, 8) != 0)
		return FIC_EIO;
	jbyteArray p = bytes_of(env, store_path), n = bytes_of(env, name);
	if (p && n)
		(*env)->CallStaticVoidMethod(env, c_native, m_secret_delete, s->secrets, p, n);
	int rc = p && n ? secret_failed(env) : FIC_EIO;
	(*env)->ExceptionClear(env);
	(*env)->PopLocalFrame(env, NULL);
	return rc;
}

static jlong JNICALL n_store_open(JNIEnv *env, jclass cls, jbyteArray path_b, jbyteArray actor_b,
                                  jint busy_ms, jbyteArray data_dir_b, jbyteArray tag_b,
                                  jint log_level, jobject secrets)
{
	(void)cls;
	char *path = NULL, *actor = NULL, *dir = NULL, *tag = NULL;
	jlong result = 0;
	if (!text_in(env, path_b, &path, "path") || !text_in(env, actor_b, &actor, "actor") ||
	    !text_in(env, data_dir_b, &dir, "data directory") || !text_in(env, tag_b, &tag, "log tag"))
		goto done;
	jstore *s = calloc(1, sizeof *s);
	if (s == NULL) {
		throw_fic(env, FIC_ENOMEM, "out of memory opening the store");
		goto done;
	}
	int rc = fic_android_platform_new(&s->platform, dir, tag, log_level);
	if (rc != FIC_OK) {
		free(s);
		throw_fic(env, rc, rc == FIC_EINVAL ? "the data directory must be an absolute path "
		                                      "and the log level 0..4"
		                                    : "out of memory making the platform");
		goto done;
	}
	if (secrets != NULL &&
	    ((s->secrets = global_ref(env, secrets)) == NULL ||
	     fic_android_platform_set_secrets(s->platform, jni_secret_get, jni_secret_put,
	                                      jni_secret_delete, s) != FIC_OK)) {
		fic_android_platform_free(s->platform);
		free(s);
		throw_fic(env, FIC_ENOMEM, "out of memory keeping the secret store");
		goto done;
	}
	fic_store_options o = FIC_STORE_OPTIONS_INIT;
	o.platform = fic_android_platform_table(s->platform);
	o.actor = actor;
	o.busy_timeout_ms = busy_ms;
	if (!ok(env, fic_store_open(&s->store, path, &o))) {
		fic_android_platform_free(s->platform);
		if (s->secrets) {
			(*env)->DeleteGlobalRef(env, s->secrets);
			atomic_fetch_sub(&global_refs, 1);
		}
		free(s);
		goto done;
	}
	result = (jlong)(intptr_t)s;
done:
	free(path);
	free(actor);
	free(dir);
	free(tag);
	return result;
}

static void JNICALL n_store_close(JNIEnv *env, jclass cls, jlong h)
{
	(void)env;
	(void)cls;
	jstore *s = (jstore *)(intptr_t)h;
	if (s == NULL)
		return;
	fic_store_close(s->store);
	fic_android_platform_free(s->platform);
	if (s->secrets) {
		(*env)->DeleteGlobalRef(env, s->secrets);
		atomic_fetch_sub(&global_refs, 1);
	}
	free(s);
}

static jbyteArray JNICALL n_store_device_id(JNIEnv *env, jclass cls, jlong h)
{
	(void)cls;
	STORE_OR(NULL);
	return bytes_of(env, fic_store_device_id(store));
}

static void JNICALL n_store_check(JNIEnv *env, jclass cls, jlong h)
{
	(void)cls;
	STORE_OR();
	ok(env, fic_store_check(store));
}

static jint JNICALL n_store_schema_version(JNIEnv *env, jclass cls)
{
	(void)env;
	(void)cls;
	return fic_store_schema_version();
}

static jbyteArray JNICALL n_store_new_id(JNIEnv *env, jclass cls, jlong h)
{
	(void)cls;
	STORE_OR(NULL);
	char id[FIC_UUID_BUFSIZE];
	return ok(env, fic_store_new_id(store, id, sizeof id)) ? bytes_of(env, id) : NULL;
}

static jlongArray JNICALL n_store_stats_get(JNIEnv *env, jclass cls, jlong h)
{
	(void)cls;
	STORE_OR(NULL);
	fic_store_stats st = FIC_STORE_STATS_INIT;
	if (!ok(env, fic_store_stats_get(store, &st)))
		return NULL;
	jlong v[] = { st.sites, st.audit_entries, st.outbox_pending, st.photos_pending };
	jlongArray a = (*env)->NewLongArray(env, 4);
	if (a)
		(*env)->SetLongArrayRegion(env, a, 0, 4, v);
	return a;
}

static jobjectArray JNICALL n_audit_list_get(JNIEnv *env, jclass cls, jlong h, jbyteArray id_b,
                                             jlong limit)
{
	(void)cls;
	STORE_OR(NULL);
	TEXT_OR(id, id_b, "entity id", NULL);
	fic_audit_list *l = NULL;
	int rc = fic_audit_list_get(&l, store, id, limit < 0 ? 0 : (size_t)limit);
	free(id);
	if (!ok(env, rc))
		return NULL;
	rows r = { 0 };
	for (size_t i = 0; i < l->count; i++) {
		const fic_audit_entry *e = fic_audit_list_at(l, i);
		rows_num(&r, e->seq);
		rows_num(&r, e->at_ms);
		rows_str(&r, e->actor);
		rows_str(&r, e->action);
		rows_str(&r, e->entity);
		rows_str(&r, e->entity_id);
		rows_str(&r, e->detail);
	}
	fic_audit_list_free(l);
	return rows_finish(env, &r);
}

/* ---- sites ---- */

/* The order of a site's fields across the binding (Site.java has the same). */
#define SITE_STRS 13
#define SITE_INTS 15

static void site_rows(rows *r, const fic_site *s)
{
	const char *strs[SITE_STRS] = { s->id, s->name, s->address, s->credit_code, s->place_code,
		                        s->legal_rep, s->manager, s->licence_no, s->licence_scope,
		                        s->licence_valid_from, s->licence_valid_to, s->note,
		                        s->authority };
	int ints[SITE_INTS] = { s->kind, s->has_location, s->status, s->origin, s->school_level,
		                s->boarding, s->enrolment, s->med_registration, s->institution_type,
		                s->beds, s->joint_venture, s->validation_deferred, s->industry,
		                s->hazard_level, s->venue_type };
	for (int i = 0; i < SITE_STRS; i++)
		rows_str(r, strs[i]);
	for (int i = 0; i < SITE_INTS; i++)
		rows_num(r, ints[i]);
	rows_num(r, s->created_at_ms);
	rows_num(r, s->updated_at_ms);
	rows_num(r, s->revision);
	rows_dbl(r, s->lat);
	rows_dbl(r, s->lon);
}

/* A site from Java's arrays; its strings are malloc'd into strs[] (free them). */
static bool site_in(JNIEnv *env, jobjectArray strs_a, jintArray ints_a, jdoubleArray dbl_a,
                    fic_site *s, char *strs[SITE_STRS])
{
	static const char *names[SITE_STRS] = { "id", "name", "address", "credit code",
		                                "place code", "legal representative", "manager",
		                                "licence number", "licence scope",
		                                "licence valid from", "licence valid to", "note",
		                                "authority" };
	memset(strs, 0, sizeof(char *) * SITE_STRS);
	if (strs_a == NULL || ints_a == NULL || dbl_a == NULL ||
	    (*env)->GetArrayLength(env, strs_a) != SITE_STRS ||
	    (*env)->GetArrayLength(env, ints_a) != SITE_INTS || (*env)->GetArrayLength(env, dbl_a) != 2) {
		throw_fic(env, FIC_EINVAL, "site: malformed record from the binding");
		return false;
	}
	for (int i = 0; i < SITE_STRS; i++) {
		jbyteArray b = (jbyteArray)(*env)->GetObjectArrayElement(env, strs_a, i);
		bool good = text_in(env, b, &strs[i], names[i]);
		(*env)->DeleteLocalRef(env, b);
		if (!good)
			return false;
	}
	jint v[SITE_INTS];
	jdouble d[2];
	(*env)->GetIntArrayRegion(env, ints_a, 0, SITE_INTS, v);
	(*env)->GetDoubleArrayRegion(env, dbl_a, 0, 2, d);
	*s = (fic_site)FIC_SITE_INIT;
	s->id = strs[0];
	s->name = strs[1];
	s->address = strs[2];
	s->credit_code = strs[3];
	s->place_code = strs[4];
	s->legal_rep = strs[5];
	s->manager = strs[6];
	s->licence_no = strs[7];
	s->licence_scope = strs[8];
	s->licence_valid_from = strs[9];
	s->licence_valid_to = strs[10];
	s->note = strs[11];
	s->authority = strs[12];
	s->kind = v[0];
	s->has_location = v[1];
	s->status = v[2];
	s->origin = v[3];
	s->school_level = v[4];
	s->boarding = v[5];
	s->enrolment = v[6];
	s->med_registration = v[7];
	s->institution_type = v[8];
	s->beds = v[9];
	s->joint_venture = v[10];
	s->validation_deferred = v[11];
	s->industry = v[12];
	s->hazard_level = v[13];
	s->venue_type = v[14];
	s->lat = d[0];
	s->lon = d[1];
	return true;
}

static void strs_free(char **strs, int n)
{
	for (int i = 0; i < n; i++)
		free(strs[i]);
}

static jobjectArray one_site(JNIEnv *env, int rc, fic_site *out)
{
	if (!ok(env, rc))
		return NULL;
	rows r = { 0 };
	site_rows(&r, out);
	fic_site_free(out);
	return rows_finish(env, &r);
}

static jobjectArray JNICALL n_site_add(JNIEnv *env, jclass cls, jlong h, jobjectArray sa,
                                       jintArray ia, jdoubleArray da, jbyteArray reason_b)
{
	(void)cls;
	STORE_OR(NULL);
	fic_site s;
	char *strs[SITE_STRS];
	char *reason = NULL;
	jobjectArray res = NULL;
	if (site_in(env, sa, ia, da, &s, strs) && text_in(env, reason_b, &reason, "reason")) {
		fic_site *out = NULL;
		int rc = fic_site_add(&out, store, &s, reason);
		res = one_site(env, rc, out);
	}
	strs_free(strs, SITE_STRS);
	free(reason);
	return res;
}

static jobjectArray JNICALL n_site_update(JNIEnv *env, jclass cls, jlong h, jobjectArray sa,
                                          jintArray ia, jdoubleArray da, jbyteArray reason_b)
{
	(void)cls;
	STORE_OR(NULL);
	fic_site s;
	char *strs[SITE_STRS];
	char *reason = NULL;
	jobjectArray res = NULL;
	if (site_in(env, sa, ia, da, &s, strs) && text_in(env, reason_b, &reason, "reason")) {
		fic_site *out = NULL;
		int rc = fic_site_update(&out, store, &s, reason);
		res = one_site(env, rc, out);
	}
	strs_free(strs, SITE_STRS);
	free(reason);
	return res;
}

static void JNICALL n_site_close(JNIEnv *env, jclass cls, jlong h, jbyteArray id_b,
                                 jbyteArray reason_b)
{
	(void)cls;
	STORE_OR();
	char *id = NULL, *reason = NULL;
	if (text_in(env, id_b, &id, "site id") && text_in(env, reason_b, &reason, "reason"))
		ok(env, fic_site_close(store, id, reason));
	free(id);
	free(reason);
}

static jobjectArray JNICALL n_site_get(JNIEnv *env, jclass cls, jlong h, jbyteArray id_b)
{
	(void)cls;
	STORE_OR(NULL);
	TEXT_OR(id, id_b, "site id", NULL);
	fic_site *out = NULL;
	int rc = fic_site_get(&out, store, id);
	free(id);
	return one_site(env, rc, out);
}

static jobjectArray JNICALL n_site_find_by_place_code(JNIEnv *env, jclass cls, jlong h,
                                                      jbyteArray code_b)
{
	(void)cls;
	STORE_OR(NULL);
	TEXT_OR(code, code_b, "place code", NULL);
	fic_site *out = NULL;
	int rc = fic_site_find_by_place_code(&out, store, code);
	free(code);
	return one_site(env, rc, out);
}

static jobjectArray site_list(JNIEnv *env, int rc, fic_site_list *l)
{
	if (!ok(env, rc))
		return NULL;
	rows r = { 0 };
	rows_num(&r, (int64_t)l->count);
	for (size_t i = 0; i < l->count; i++) {
		site_rows(&r, l->sites[i]);
		rows_dbl(&r, l->distance_m ? l->distance_m[i] : -1.0);
	}
	fic_site_list_free(l);
	return rows_finish(env, &r);
}

static jobjectArray JNICALL n_site_find_by_credit_code(JNIEnv *env, jclass cls, jlong h,
                                                       jbyteArray code_b)
{
	(void)cls;
	STORE_OR(NULL);
	TEXT_OR(code, code_b, "credit code", NULL);
	fic_site_list *l = NULL;
	int rc = fic_site_find_by_credit_code(&l, store, code);
	free(code);
	return site_list(env, rc, l);
}

static jobjectArray JNICALL n_site_search(JNIEnv *env, jclass cls, jlong h, jint kind,
                                          jbyteArray part_b, jlong limit)
{
	(void)cls;
	STORE_OR(NULL);
	TEXT_OR(part, part_b, "name", NULL);
	fic_site_list *l = NULL;
	int rc = fic_site_search(&l, store, kind, part, limit < 0 ? 0 : (size_t)limit);
	free(part);
	return site_list(env, rc, l);
}

static jobjectArray JNICALL n_site_near(JNIEnv *env, jclass cls, jlong h, jdouble lat,
                                        jdouble lon, jdouble radius, jlong limit)
{
	(void)cls;
	STORE_OR(NULL);
	fic_site_list *l = NULL;
	int rc = fic_site_near(&l, store, lat, lon, radius, limit < 0 ? 0 : (size_t)limit);
	return site_list(env, rc, l);
}

static jbyteArray JNICALL n_site_to_json(JNIEnv *env, jclass cls, jobjectArray sa, jintArray ia,
                                         jdoubleArray da)
{
	(void)cls;
	fic_site s;
	char *strs[SITE_STRS];
	jbyteArray res = NULL;
	if (site_in(env, sa, ia, da, &s, strs)) {
		char *json = NULL;
		int rc = fic_site_to_json(&json, &s);
		res = take_text(env, rc, json);
	}
	strs_free(strs, SITE_STRS);
	return res;
}

static jbyteArray JNICALL n_site_code_str(JNIEnv *env, jclass cls, jint type, jint value)
{
	(void)cls;
	return bytes_of(env, fic_site_code_str(type, value));
}

static jbyteArray JNICALL n_site_code_label(JNIEnv *env, jclass cls, jint type, jint value)
{
	(void)cls;
	return bytes_of(env, fic_site_code_label(type, value));
}

static jint JNICALL n_site_code_parse(JNIEnv *env, jclass cls, jint type, jbyteArray code_b)
{
	(void)cls;
	TEXT_OR(code, code_b, "code", 0);
	int v = 0;
	int rc = fic_site_code_parse(&v, type, code);
	free(code);
	return ok(env, rc) ? v : 0;
}

static void JNICALL n_credit_code_check(JNIEnv *env, jclass cls, jbyteArray code_b)
{
	(void)cls;
	TEXT_OR(code, code_b, "credit code", );
	ok(env, fic_credit_code_check(code));
	free(code);
}

/* ---- checklists and inspections ---- */

static jobjectArray JNICALL n_checklist_list_get(JNIEnv *env, jclass cls, jlong h, jint kind,
                                                 jint flags)
{
	(void)cls;
	STORE_OR(NULL);
	fic_checklist_list *l = NULL;
	if (!ok(env, fic_checklist_list_get(&l, store, kind, (unsigned)flags)))
		return NULL;
	rows r = { 0 };
	for (size_t i = 0; i < l->count; i++) {
		const fic_checklist_info *e = fic_checklist_list_at(l, i);
		rows_str(&r, e->id);
		rows_str(&r, e->area);
		rows_str(&r, e->title_zh);
		rows_str(&r, e->title_en);
		rows_num(&r, e->version);
		rows_num(&r, e->is_event);
		rows_num(&r, e->builtin);
		rows_num(&r, e->items);
	}
	fic_checklist_list_free(l);
	return rows_finish(env, &r);
}

static jbyteArray JNICALL n_checklist_get_json(JNIEnv *env, jclass cls, jlong h, jbyteArray id_b,
                                               jint version)
{
	(void)cls;
	STORE_OR(NULL);
	TEXT_OR(id, id_b, "checklist id", NULL);
	char *json = NULL;
	int rc = fic_checklist_get_json(&json, store, id, version);
	free(id);
	return take_text(env, rc, json);
}

static void JNICALL n_checklist_install(JNIEnv *env, jclass cls, jlong h, jbyteArray json_b)
{
	(void)cls;
	STORE_OR();
	TEXT_OR(json, json_b, "checklist definition", );
	ok(env, fic_checklist_install(store, json, strlen(json)));
	free(json);
}

static jbyteArray JNICALL n_inspection_start(JNIEnv *env, jclass cls, jlong h, jbyteArray site_b,
                                             jbyteArray checklist_b)
{
	(void)cls;
	STORE_OR(NULL);
	char *site = NULL, *checklist = NULL;
	jbyteArray res = NULL;
	char id[FIC_UUID_BUFSIZE];
	if (text_in(env, site_b, &site, "site id") &&
	    text_in(env, checklist_b, &checklist, "checklist id") &&
	    ok(env, fic_inspection_start(id, store, site, checklist)))
		res = bytes_of(env, id);
	free(site);
	free(checklist);
	return res;
}

static void JNICALL n_inspection_answer(JNIEnv *env, jclass cls, jlong h, jbyteArray insp_b,
                                        jbyteArray item_b, jbyteArray value_b)
{
	(void)cls;
	STORE_OR();
	char *insp = NULL, *item = NULL, *value = NULL;
	if (text_in(env, insp_b, &insp, "inspection id") && text_in(env, item_b, &item, "item id") &&
	    text_in(env, value_b, &value, "answer"))
		ok(env, fic_inspection_answer(store, insp, item, value));
	free(insp);
	free(item);
	free(value);
}

static void JNICALL n_inspection_note(JNIEnv *env, jclass cls, jlong h, jbyteArray insp_b,
                                      jbyteArray item_b, jbyteArray note_b)
{
	(void)cls;
	STORE_OR();
	char *insp = NULL, *item = NULL, *note = NULL;
	if (text_in(env, insp_b, &insp, "inspection id") && text_in(env, item_b, &item, "item id") &&
	    text_in(env, note_b, &note, "note"))
		ok(env, fic_inspection_note(store, insp, item, note));
	free(insp);
	free(item);
	free(note);
}

static void JNICALL n_inspection_report_site(JNIEnv *env, jclass cls, jlong h, jbyteArray insp_b,
                                             jint finding, jbyteArray reason_b, jobjectArray sa,
                                             jintArray ia, jdoubleArray da)
{
	(void)cls;
	STORE_OR();
	char *insp = NULL, *reason = NULL;
	char *strs[SITE_STRS] = { 0 };
	fic_site s;
	bool have = sa != NULL;
	if (text_in(env, insp_b, &insp, "inspection id") &&
	    text_in(env, reason_b, &reason, "reason") &&
	    (!have || site_in(env, sa, ia, da, &s, strs)))
		ok(env, fic_inspection_report_site(store, insp, finding, reason, have ? &s : NULL));
	free(insp);
	free(reason);
	strs_free(strs, SITE_STRS);
}

static jbyteArray JNICALL n_inspection_get_json(JNIEnv *env, jclass cls, jlong h, jbyteArray id_b)
{
	(void)cls;
	STORE_OR(NULL);
	TEXT_OR(id, id_b, "inspection id", NULL);
	char *json = NULL;
	int rc = fic_inspection_get_json(&json, store, id);
	free(id);
	return take_text(env, rc, json);
}

static jbyteArray JNICALL n_inspection_finish(JNIEnv *env, jclass cls, jlong h, jbyteArray id_b)
{
	(void)cls;
	STORE_OR(NULL);
	TEXT_OR(id, id_b, "inspection id", NULL);
	char *json = NULL;
	int rc = fic_inspection_finish(&json, store, id);
	free(id);
	return take_text(env, rc, json);
}

static jbyteArray JNICALL n_inspection_opinion(JNIEnv *env, jclass cls, jlong h, jbyteArray id_b,
                                               jint format)
{
	(void)cls;
	STORE_OR(NULL);
	TEXT_OR(id, id_b, "inspection id", NULL);
	char *text = NULL;
	int rc = fic_inspection_opinion(&text, store, id, format);
	free(id);
	return take_text(env, rc, text);
}

/* ---- leads, tasks, settings ---- */

static jbyteArray JNICALL n_lead_file(JNIEnv *env, jclass cls, jlong h, jbyteArray form_b,
                                      jbyteArray answers_b, jbyteArray site_b, jlong discovered,
                                      jint flags)
{
	(void)cls;
	STORE_OR(NULL);
	char *form = NULL, *answers = NULL, *site = NULL;
	jbyteArray res = NULL;
	char id[FIC_UUID_BUFSIZE];
	if (text_in(env, form_b, &form, "form id") && text_in(env, answers_b, &answers, "answers") &&
	    text_in(env, site_b, &site, "site id") &&
	    ok(env, fic_lead_file(id, store, form, answers, site, discovered, (unsigned)flags)))
		res = bytes_of(env, id);
	free(form);
	free(answers);
	free(site);
	return res;
}

static void JNICALL n_lead_submit(JNIEnv *env, jclass cls, jlong h, jbyteArray id_b)
{
	(void)cls;
	STORE_OR();
	TEXT_OR(id, id_b, "lead id", );
	ok(env, fic_lead_submit(store, id));
	free(id);
}

static jbyteArray JNICALL n_lead_correct(JNIEnv *env, jclass cls, jlong h, jbyteArray id_b,
                                         jbyteArray note_b)
{
	(void)cls;
	STORE_OR(NULL);
	char *lead = NULL, *note = NULL;
	jbyteArray res = NULL;
	char id[FIC_UUID_BUFSIZE];
	if (text_in(env, id_b, &lead, "lead id") && text_in(env, note_b, &note, "note") &&
	    ok(env, fic_lead_correct(id, store, lead, note)))
		res = bytes_of(env, id);
	free(lead);
	free(note);
	return res;
}

static jobjectArray JNICALL n_lead_list_get(JNIEnv *env, jclass cls, jlong h, jlong limit)
{
	(void)cls;
	STORE_OR(NULL);
	fic_lead_list *l = NULL;
	if (!ok(env, fic_lead_list_get(&l, store, limit < 0 ? 0 : (size_t)limit)))
		return NULL;
	rows r = { 0 };
	for (size_t i = 0; i < l->count; i++) {
		const fic_lead_info *e = fic_lead_list_at(l, i);
		rows_str(&r, e->id);
		rows_str(&r, e->category);
		rows_str(&r, e->area);
		rows_str(&r, e->title);
		rows_str(&r, e->state);
		rows_str(&r, e->report_to);
		rows_str(&r, e->site_id);
		rows_str(&r, e->reject_reason);
		rows_num(&r, e->urgent);
		rows_num(&r, e->discovered_at_ms);
		rows_num(&r, e->deadline_at_ms);
		rows_num(&r, e->remaining_ms);
		rows_num(&r, e->at_risk);
		rows_num(&r, e->time_flags);
		rows_num(&r, e->receipt_at_ms);
		rows_num(&r, e->sealed);
		rows_num(&r, e->called_at_ms);
	}
	fic_lead_list_free(l);
	return rows_finish(env, &r);
}

static jbyteArray JNICALL n_lead_get_json(JNIEnv *env, jclass cls, jlong h, jbyteArray id_b)
{
	(void)cls;
	STORE_OR(NULL);
	TEXT_OR(id, id_b, "lead id", NULL);
	char *json = NULL;
	int rc = fic_lead_get_json(&json, store, id);
	free(id);
	return take_text(env, rc, json);
}

static jbyteArray JNICALL n_task_list_json(JNIEnv *env, jclass cls, jlong h)
{
	(void)cls;
	STORE_OR(NULL);
	char *json = NULL;
	int rc = fic_task_list_json(&json, store);
	return take_text(env, rc, json);
}

static jbyteArray JNICALL n_due_json(JNIEnv *env, jclass cls, jlong h)
{
	(void)cls;
	STORE_OR(NULL);
	char *json = NULL;
	int rc = fic_due_json(&json, store);
	return take_text(env, rc, json);
}

static jbyteArray JNICALL n_stats_json(JNIEnv *env, jclass cls, jlong h, jint year)
{
	(void)cls;
	STORE_OR(NULL);
	char *json = NULL;
	int rc = fic_stats_json(&json, store, year);
	return take_text(env, rc, json);
}

static void JNICALL n_setting_set(JNIEnv *env, jclass cls, jlong h, jbyteArray key_b,
                                  jbyteArray value_b)
{
	(void)cls;
	STORE_OR();
	char *key = NULL, *value = NULL;
	if (text_in(env, key_b, &key, "setting") && text_in(env, value_b, &value, "value"))
		ok(env, fic_setting_set(store, key, value));
	free(key);
	free(value);
}

static jbyteArray JNICALL n_setting_get(JNIEnv *env, jclass cls, jlong h, jbyteArray key_b)
{
	(void)cls;
	STORE_OR(NULL);
	TEXT_OR(key, key_b, "setting", NULL);
	char *value = NULL;
	int rc = fic_setting_get(&value, store, key);
	free(key);
	return take_text(env, rc, value);
}

/* ---- photos ---- */

static bool photo_opts_in(JNIEnv *env, jintArray ia, jdoubleArray da, fic_photo_options *o)
{
	*o = (fic_photo_options)FIC_PHOTO_OPTIONS_INIT;
	if (ia == NULL)
		return true;
	if ((*env)->GetArrayLength(env, ia) != 5 || da == NULL || (*env)->GetArrayLength(env, da) != 2) {
		throw_fic(env, FIC_EINVAL, "photo options: malformed record from the binding");
		return false;
	}
	jint v[5];
	jdouble d[2];
	(*env)->GetIntArrayRegion(env, ia, 0, 5, v);
	(*env)->GetDoubleArrayRegion(env, da, 0, 2, d);
	o->max_edge = v[0];
	o->quality = v[1];
	o->thumb_edge = v[2];
	o->thumb_quality = v[3];
	o->has_location = v[4];
	o->lat = d[0];
	o->lon = d[1];
	return true;
}

static jbyteArray JNICALL n_photo_add_buffer(JNIEnv *env, jclass cls, jlong h, jint owner,
                                             jbyteArray owner_b, jbyteArray item_b,
                                             jbyteArray data_b, jintArray ia, jdoubleArray da)
{
	(void)cls;
	STORE_OR(NULL);
	if (data_b == NULL) {
		throw_fic(env, FIC_EINVAL, "photo: no bytes");
		return NULL;
	}
	char *owner_id = NULL, *item = NULL;
	jbyteArray res = NULL;
	fic_photo_options o;
	if (text_in(env, owner_b, &owner_id, "owner id") && text_in(env, item_b, &item, "item id") &&
	    photo_opts_in(env, ia, da, &o)) {
		jsize n = (*env)->GetArrayLength(env, data_b);
		jbyte *data = (*env)->GetByteArrayElements(env, data_b, NULL);
		if (data) {
			char id[FIC_UUID_BUFSIZE];
			int rc = fic_photo_add_buffer(id, store, owner, owner_id, item, data, (size_t)n, &o);
			(*env)->ReleaseByteArrayElements(env, data_b, data, JNI_ABORT);
			if (ok(env, rc))
				res = bytes_of(env, id);
		}
	}
	free(owner_id);
	free(item);
	return res;
}

static jbyteArray JNICALL n_photo_add_file(JNIEnv *env, jclass cls, jlong h, jint owner,
                                           jbyteArray owner_b, jbyteArray item_b,
                                           jbyteArray path_b, jintArray ia, jdoubleArray da)
{
	(void)cls;
	STORE_OR(NULL);
	char *owner_id = NULL, *item = NULL, *path = NULL;
	jbyteArray res = NULL;
	fic_photo_options o;
	char id[FIC_UUID_BUFSIZE];
	if (text_in(env, owner_b, &owner_id, "owner id") && text_in(env, item_b, &item, "item id") &&
	    text_in(env, path_b, &path, "path") && photo_opts_in(env, ia, da, &o) &&
	    ok(env, fic_photo_add_file(id, store, owner, owner_id, item, path, &o)))
		res = bytes_of(env, id);
	free(owner_id);
	free(item);
	free(path);
	return res;
}

static jobjectArray JNICALL n_photo_get(JNIEnv *env, jclass cls, jlong h, jbyteArray id_b)
{
	(void)cls;
	STORE_OR(NULL);
	TEXT_OR(id, id_b, "photo id", NULL);
	fic_photo *p = NULL;
	int rc = fic_photo_get(&p, store, id);
	free(id);
	if (!ok(env, rc))
		return NULL;
	rows r = { 0 };
	const char *strs[] = { p->id, p->owner_id, p->item_id, p->sha256, p->path, p->upload_sha256,
		               p->upload_path, p->thumb_path, p->exif_taken_at };
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		rows_str(&r, strs[i]);
	int64_t nums[] = { p->owner, p->bytes, p->width, p->height, p->orientation, p->upload_bytes,
		           p->upload_width, p->upload_height, p->thumb_bytes, p->has_exif_location,
		           p->has_device_location, p->created_at_ms };
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
		rows_num(&r, nums[i]);
	rows_dbl(&r, p->exif_lat);
	rows_dbl(&r, p->exif_lon);
	rows_dbl(&r, p->device_lat);
	rows_dbl(&r, p->device_lon);
	fic_photo_free(p);
	return rows_finish(env, &r);
}

static jbyteArray JNICALL n_photo_render(JNIEnv *env, jclass cls, jbyteArray jpeg_b, jint max_edge,
                                         jint quality)
{
	(void)cls;
	if (jpeg_b == NULL) {
		throw_fic(env, FIC_EINVAL, "photo: no bytes");
		return NULL;
	}
	jsize n = (*env)->GetArrayLength(env, jpeg_b);
	jbyte *data = (*env)->GetByteArrayElements(env, jpeg_b, NULL);
	if (data == NULL)
		return NULL;
	void *out = NULL;
	size_t len = 0;
	int rc = fic_photo_render(&out, &len, data, (size_t)n, max_edge, quality);
	(*env)->ReleaseByteArrayElements(env, jpeg_b, data, JNI_ABORT);
	jbyteArray res = NULL;
	if (ok(env, rc)) {
		res = (*env)->NewByteArray(env, (jsize)len);
		if (res)
			(*env)->SetByteArrayRegion(env, res, 0, (jsize)len, out);
	}
	fic_free(out);
	return res;
}

/* ---- evidence and time ---- */

/* The report; FIC_ECORRUPT is an answer (the report lists the problems), not a failure. */
static jbyteArray JNICALL n_evidence_verify(JNIEnv *env, jclass cls, jlong h)
{
	(void)cls;
	STORE_OR(NULL);
	char *report = NULL;
	int rc = fic_evidence_verify(&report, store);
	if (rc == FIC_ECORRUPT && report != NULL)
		rc = FIC_OK;
	return take_text(env, rc, report);
}

static jbyteArray JNICALL n_chain_verify(JNIEnv *env, jclass cls, jbyteArray subs_b,
                                         jbyteArray prev_b, jlong first)
{
	(void)cls;
	char *subs = NULL, *prev = NULL;
	jbyteArray res = NULL;
	if (text_in(env, subs_b, &subs, "submissions") && text_in(env, prev_b, &prev, "hash")) {
		char *report = NULL;
		int rc = fic_chain_verify(&report, subs, prev, first);
		if (rc == FIC_ECORRUPT && report != NULL)
			rc = FIC_OK;
		res = take_text(env, rc, report);
	}
	free(subs);
	free(prev);
	return res;
}

static jobjectArray JNICALL n_time_now(JNIEnv *env, jclass cls, jlong h)
{
	(void)cls;
	STORE_OR(NULL);
	fic_time t = FIC_TIME_INIT;
	if (!ok(env, fic_time_now(&t, store)))
		return NULL;
	rows r = { 0 };
	rows_str(&r, t.boot_id);
	rows_num(&r, t.device_ms);
	rows_num(&r, t.mono_ms);
	rows_num(&r, t.trusted_ms);
	rows_num(&r, t.uncertainty_ms);
	rows_num(&r, t.flags);
	return rows_finish(env, &r);
}

static void JNICALL n_time_contact(JNIEnv *env, jclass cls, jlong h, jlong server_ms, jlong rtt)
{
	(void)cls;
	STORE_OR();
	ok(env, fic_time_contact(store, server_ms, rtt));
}

/* ---- cancellation ---- */

static jlong JNICALL n_cancel_new(JNIEnv *env, jclass cls)
{
	(void)cls;
	fic_cancel *c = NULL;
	return ok(env, fic_cancel_new(&c)) ? (jlong)(intptr_t)c : 0;
}

static void JNICALL n_cancel_request(JNIEnv *env, jclass cls, jlong c)
{
	(void)env;
	(void)cls;
	fic_cancel_request((fic_cancel *)(intptr_t)c);
}

static void JNICALL n_cancel_reset(JNIEnv *env, jclass cls, jlong c)
{
	(void)env;
	(void)cls;
	fic_cancel_reset((fic_cancel *)(intptr_t)c);
}

static jboolean JNICALL n_cancel_requested(JNIEnv *env, jclass cls, jlong c)
{
	(void)env;
	(void)cls;
	return fic_cancel_requested((const fic_cancel *)(intptr_t)c) ? JNI_TRUE : JNI_FALSE;
}

static void JNICALL n_cancel_free(JNIEnv *env, jclass cls, jlong c)
{
	(void)env;
	(void)cls;
	fic_cancel_free((fic_cancel *)(intptr_t)c);
}

/* ---- sync: the Java transport and the progress listener ---- */

typedef struct bridge {
	JNIEnv *env;       /* the syncing thread's */
	/* org.fieldinspect.Transport: a local reference of the sync call, or a
	 * global one when the transport runs on the engine's lane threads too */
	jobject transport;
	jobject listener;  /* org.fieldinspect.SyncListener or NULL */
	jthrowable listener_error; /* the listener threw: rethrown after the pass */
} bridge;

/* The codes a transport may return (sys/transport.h), and FIC_ERROR for a
 * transport that broke (returned nothing, threw something else); any other
 * status is taken as a failure of the link. */
static int transport_code(int code)
{
	switch (code) {
	case FIC_ENETWORK: case FIC_ETLS: case FIC_ETOOBIG: case FIC_EPROTO: case FIC_EINVAL:
	case FIC_ECANCELED: case FIC_ENOMEM: case FIC_ERROR:
		return code;
	default:
		return FIC_ENETWORK;
	}
}

/* The pending Java exception as the thread's error; returns the code. */
static int java_error(JNIEnv *env, const char *what)
{
	jthrowable t = (*env)->ExceptionOccurred(env);
	(*env)->ExceptionClear(env);
	int code = FIC_ERROR;
	char msg[400];
	snprintf(msg, sizeof msg, "%s threw an exception", what);
	if (t && (*env)->IsInstanceOf(env, t, c_exception)) {
		jint c = (*env)->CallIntMethod(env, t, m_exception_code);
		if ((*env)->ExceptionCheck(env)) {
			(*env)->ExceptionClear(env);
			c = FIC_ERROR;
		}
		code = transport_code(c);
		jbyteArray b = (jbyteArray)(*env)->CallObjectMethod(env, t, m_exception_bytes);
		if (!(*env)->ExceptionCheck(env) && b) {
			jsize n = (*env)->GetArrayLength(env, b);
			if ((size_t)n >= sizeof msg)
				n = (jsize)sizeof msg - 1;
			(*env)->GetByteArrayRegion(env, b, 0, n, (jbyte *)msg);
			msg[n] = '\0';
		}
		(*env)->ExceptionClear(env);
	}
	return fic_error_set(code, msg);
}

/*
 * An engine lane thread calling the Java transport is attached to the JVM at
 * its first call and detached when it exits (a thread-specific key's
 * destructor: the JNI tips' way), so it is one Java thread for its life —
 * a sync pass; the engine joins its lane threads before the pass returns, so
 * none stays attached after it.
 */
static pthread_key_t lane_key;
static pthread_once_t lane_key_once = PTHREAD_ONCE_INIT;
static bool lane_key_ok;

static void lane_detach(void *v)
{
	(void)v;
	(*jvm)->DetachCurrentThread(jvm);
}

static void lane_key_make(void)
{
	lane_key_ok = pthread_key_create(&lane_key, lane_detach) == 0;
}

/* The calling thread's JNIEnv: the syncing thread's, or an engine lane
 * thread's, attached on its first call. NULL with the error set when that
 * cannot be done. */
static JNIEnv *env_here(void)
{
	JNIEnv *env = NULL;
	jint r = (*jvm)->GetEnv(jvm, (void **)&env, JNI_VERSION_1_6);
	if (r == JNI_OK)
		return env;
	if (r != JNI_EDETACHED || pthread_once(&lane_key_once, lane_key_make) != 0 || !lane_key_ok) {
		fic_error_set(FIC_ERROR, "the Java transport cannot be called from this thread");
		return NULL;
	}
	JavaVMAttachArgs args = { JNI_VERSION_1_6, (char *)"fieldinspect-photo-lane", NULL };
#ifdef __ANDROID__
	r = (*jvm)->AttachCurrentThread(jvm, &env, &args); /* the NDK's jni.h takes JNIEnv ** */
#else
	r = (*jvm)->AttachCurrentThread(jvm, (void **)&env, &args);
#endif
	if (r != JNI_OK) {
		fic_error_set(FIC_ENOMEM, "the JVM could not attach a photo lane's thread");
		return NULL;
	}
	if (pthread_setspecific(lane_key, env) != 0) { /* no destructor: not attached for long */
		(*jvm)->DetachCurrentThread(jvm);
		fic_error_set(FIC_ENOMEM, "out of memory attaching a photo lane's thread");
		return NULL;
	}
	return env;
}

static int bridge_call(JNIEnv *env, bridge *b, const fic_http_request *req, fic_http_response *resp);

static int bridge_request(void *ctx, const fic_http_request *req, fic_http_response *resp)
{
	bridge *b = ctx;
	JNIEnv *env = env_here();
	if (env == NULL)
		return fic_error_last()->code;
	return bridge_call(env, b, req, resp);
}

/* One exchange through the Java transport on `env`'s thread. */
static int bridge_call(JNIEnv *env, bridge *b, const fic_http_request *req, fic_http_response *resp)
{
	if ((*env)->PushLocalFrame(env, 32) != 0) {
		(*env)->ExceptionClear(env);
		return fic_error_set(FIC_ENOMEM, "out of memory calling the Java transport");
	}
	int rc = FIC_OK;
	jobjectArray headers = (*env)->NewObjectArray(env, (jsize)(req->header_count * 2), c_object,
	                                              NULL);
	for (size_t i = 0; headers && i < req->header_count; i++) {
		jbyteArray n = bytes_of(env, req->headers[i].name);
		jbyteArray v = bytes_of(env, req->headers[i].value);
		(*env)->SetObjectArrayElement(env, headers, (jsize)(2 * i), n);
		(*env)->SetObjectArrayElement(env, headers, (jsize)(2 * i + 1), v);
		(*env)->DeleteLocalRef(env, n);
		(*env)->DeleteLocalRef(env, v);
	}
	jbyteArray body = NULL;
	if (req->body_len > 0) {
		body = (*env)->NewByteArray(env, (jsize)req->body_len);
		if (body)
			(*env)->SetByteArrayRegion(env, body, 0, (jsize)req->body_len, req->body);
	}
	jbyteArray method = bytes_of(env, req->method), url = bytes_of(env, req->url);
	if ((*env)->ExceptionCheck(env)) {
		(*env)->ExceptionClear(env);
		(*env)->PopLocalFrame(env, NULL);
		return fic_error_set(FIC_ENOMEM, "out of memory calling the Java transport");
	}
	jobjectArray out = (jobjectArray)(*env)->CallStaticObjectMethod(
		env, c_native, m_bridge_request, b->transport, method, url, headers, body,
		(jlong)req->connect_timeout_ms, (jlong)req->low_speed_time_ms,
		(jlong)req->low_speed_bytes, (jlong)req->total_timeout_ms,
		(jlong)req->max_response_bytes, (jlong)(intptr_t)req->cancel);
	if ((*env)->ExceptionCheck(env)) {
		rc = java_error(env, "the transport");
	} else if (out == NULL || (*env)->GetArrayLength(env, out) != 2) {
		rc = fic_error_set(FIC_ERROR, "the Java transport returned nothing");
	} else {
		jlongArray meta = (jlongArray)(*env)->GetObjectArrayElement(env, out, 0);
		jbyteArray rb = (jbyteArray)(*env)->GetObjectArrayElement(env, out, 1);
		jlong m[5];
		(*env)->GetLongArrayRegion(env, meta, 0, 5, m);
		resp->status = (int)m[0];
		resp->server_time_ms = m[1];
		resp->retry_after_ms = m[2];
		resp->upload_offset = m[3];
		if (req->version >= 2)
			resp->content_encoding = (int)m[4];
		if (rb != NULL) {
			jsize n = (*env)->GetArrayLength(env, rb);
			if (req->max_response_bytes && (size_t)n > req->max_response_bytes) {
				rc = fic_error_set(FIC_ETOOBIG, "the transport returned more than the response limit");
			} else if (n > 0) {
				resp->body = fic_malloc((size_t)n + 1);
				if (resp->body == NULL) {
					rc = fic_error_set(FIC_ENOMEM, "out of memory taking the response");
				} else {
					(*env)->GetByteArrayRegion(env, rb, 0, n, (jbyte *)resp->body);
					resp->body[n] = '\0';
					resp->body_len = (size_t)n;
				}
			}
		}
	}
	(*env)->PopLocalFrame(env, NULL);
	if (rc != FIC_OK) {
		fic_free(resp->body);
		resp->body = NULL;
		resp->body_len = 0;
	}
	return rc;
}

static void bridge_progress(void *arg, const fic_sync_progress *p)
{
	bridge *b = arg;
	JNIEnv *env = b->env;
	if (b->listener == NULL || b->listener_error != NULL)
		return;
	if ((*env)->PushLocalFrame(env, 8) != 0) {
		(*env)->ExceptionClear(env);
		return;
	}
	(*env)->CallStaticVoidMethod(env, c_native, m_bridge_progress, b->listener,
	                             (jlong)p->records_done, (jlong)p->records_total,
	                             (jlong)p->bytes_sent, (jint)p->urgent_pending,
	                             (jlong)p->photos_done, (jlong)p->photos_pending);
	jthrowable t = NULL;
	if ((*env)->ExceptionCheck(env)) {
		t = (*env)->ExceptionOccurred(env);
		(*env)->ExceptionClear(env);
	}
	b->listener_error = (jthrowable)(*env)->PopLocalFrame(env, t);
}

enum { SYNC_RUN, SYNC_PUSH, SYNC_PULL, SYNC_ENROLL };

static jlongArray sync_call(JNIEnv *env, jlong h, int which, jobject transport, jbyteArray url_b,
                            jlong cancel, jobject listener, jboolean no_gzip, jlongArray limits,
                            jbyteArray code_b, jbyteArray name_b)
{
	STORE_OR(NULL);
	if (transport == NULL) {
		throw_fic(env, FIC_EINVAL, "sync options need a transport");
		return NULL;
	}
	char *url = NULL, *code = NULL, *name = NULL;
	jlongArray res = NULL;
	if (!text_in(env, url_b, &url, "server URL") || !text_in(env, code_b, &code, "code") ||
	    !text_in(env, name_b, &name, "device name"))
		goto done;
	jlong lim[4] = { 0, 0, 0, 0 };
	if (limits && (*env)->GetArrayLength(env, limits) == 4)
		(*env)->GetLongArrayRegion(env, limits, 0, 4, lim);
	/* A transport that may run concurrently is called from the engine's lane
	 * threads too: it is held by a global reference for the pass. */
	bool concurrent = (*env)->CallBooleanMethod(env, transport, m_transport_concurrent) == JNI_TRUE;
	if ((*env)->ExceptionCheck(env))
		goto done;
	jobject held = concurrent ? global_ref(env, transport) : transport;
	if (held == NULL)
		goto done;
	bridge b = { env, held, listener, NULL };
	fic_transport t = { FIC_TRANSPORT_VERSION, &b, bridge_request, NULL,
		            concurrent ? FIC_TRANSPORT_CONCURRENT : 0 };
	fic_sync_options o = FIC_SYNC_OPTIONS_INIT;
	o.transport = &t;
	o.server_url = url;
	o.cancel = (const fic_cancel *)(intptr_t)cancel;
	o.progress = bridge_progress;
	o.progress_arg = &b;
	o.no_gzip = no_gzip ? 1 : 0;
	o.connect_timeout_ms = (long)lim[0];
	o.low_speed_time_ms = (long)lim[1];
	o.total_timeout_ms = (long)lim[2];
	o.photo_chunk_bytes = lim[3] > 0 ? (size_t)lim[3] : 0;
	fic_sync_report rep = FIC_SYNC_REPORT_INIT;
	int rc;
	switch (which) {
	case SYNC_ENROLL: rc = fic_sync_enroll(store, &o, code, name); break;
	case SYNC_PUSH: rc = fic_sync_push(store, &o, &rep); break;
	case SYNC_PULL: rc = fic_sync_pull(store, &o, &rep); break;
	default: rc = fic_sync_run(store, &o, &rep); break;
	}
	if (concurrent) { /* no lane thread calls it any more: the pass has returned */
		(*env)->DeleteGlobalRef(env, held);
		atomic_fetch_sub(&global_refs, 1);
	}
	if (b.listener_error != NULL) {
		(*env)->Throw(env, b.listener_error);
		(*env)->DeleteLocalRef(env, b.listener_error);
		goto done;
	}
	/* The report goes back with the status (first), so a failed pass still says
	 * what it did; Java reads the message with errorLast() and throws. */
	jlong v[] = { rc, rep.stored, rep.duplicates, rep.rejected, rep.deferred, rep.urgent_acked,
		      rep.pending, rep.next_due_ms, rep.retry_at_ms, rep.requests, rep.bytes_sent,
		      rep.bytes_received, rep.audit_sent, rep.photos_sent, rep.photo_bytes_sent,
		      rep.photos_rejected, rep.photos_pending, rep.pulled, rep.pull_skipped,
		      rep.pull_invalid, rep.set_aside };
	jsize n = (jsize)(sizeof v / sizeof v[0]);
	res = (*env)->NewLongArray(env, n);
	if (res)
		(*env)->SetLongArrayRegion(env, res, 0, n, v);
done:
	free(url);
	free(code);
	free(name);
	return res;
}

static jlongArray JNICALL n_sync_run(JNIEnv *env, jclass cls, jlong h, jobject transport,
                                     jbyteArray url, jlong cancel, jobject listener,
                                     jboolean no_gzip, jlongArray limits)
{
	(void)cls;
	return sync_call(env, h, SYNC_RUN, transport, url, cancel, listener, no_gzip, limits, NULL, NULL);
}

static jlongArray JNICALL n_sync_push(JNIEnv *env, jclass cls, jlong h, jobject transport,
                                      jbyteArray url, jlong cancel, jobject listener,
                                      jboolean no_gzip, jlongArray limits)
{
	(void)cls;
	return sync_call(env, h, SYNC_PUSH, transport, url, cancel, listener, no_gzip, limits, NULL, NULL);
}

static jlongArray JNICALL n_sync_pull(JNIEnv *env, jclass cls, jlong h, jobject transport,
                                      jbyteArray url, jlong cancel, jobject listener,
                                      jboolean no_gzip, jlongArray limits)
{
	(void)cls;
	return sync_call(env, h, SYNC_PULL, transport, url, cancel, listener, no_gzip, limits, NULL, NULL);
}

static jlongArray JNICALL n_sync_enroll(JNIEnv *env, jclass cls, jlong h, jobject transport,
                                        jbyteArray url, jlong cancel, jbyteArray code,
                                        jbyteArray name, jlongArray limits)
{
	(void)cls;
	return sync_call(env, h, SYNC_ENROLL, transport, url, cancel, NULL, JNI_FALSE, limits, code, name);
}

static jbyteArray JNICALL n_sync_enrolled(JNIEnv *env, jclass cls, jlong h)
{
	(void)cls;
	STORE_OR(NULL);
	char county[256];
	int rc = fic_sync_enrolled(store, county, sizeof county);
	if (rc == FIC_ENOTFOUND)
		return NULL;
	return ok(env, rc) ? bytes_of(env, county) : NULL;
}

static void JNICALL n_sync_unenroll(JNIEnv *env, jclass cls, jlong h)
{
	(void)cls;
	STORE_OR();
	ok(env, fic_sync_unenroll(store));
}

static void JNICALL n_sync_network_changed(JNIEnv *env, jclass cls, jlong h, jboolean available)
{
	(void)cls;
	STORE_OR();
	ok(env, fic_sync_network_changed(store, available ? 1 : 0));
}

static jobjectArray JNICALL n_sync_rejections_get(JNIEnv *env, jclass cls, jlong h)
{
	(void)cls;
	STORE_OR(NULL);
	fic_sync_rejection_list *l = NULL;
	if (!ok(env, fic_sync_rejections_get(&l, store)))
		return NULL;
	rows r = { 0 };
	for (size_t i = 0; i < l->count; i++) {
		const fic_sync_rejection *e = fic_sync_rejection_list_at(l, i);
		rows_str(&r, e->record_type);
		rows_str(&r, e->record_id);
		rows_str(&r, e->op);
		rows_str(&r, e->reason);
		rows_num(&r, e->queued_at_ms);
	}
	fic_sync_rejection_list_free(l);
	return rows_finish(env, &r);
}

/* ---- library ---- */

/* The calling thread's last error: {code as 4 bytes big-endian, then the message}. */
static jbyteArray JNICALL n_error_last(JNIEnv *env, jclass cls)
{
	(void)cls;
	const fic_error *e = fic_error_last();
	size_t n = strlen(e->message);
	jbyteArray a = (*env)->NewByteArray(env, (jsize)(n + 4));
	if (a) {
		uint32_t c = (uint32_t)e->code;
		jbyte code[4] = { (jbyte)(c >> 24), (jbyte)(c >> 16), (jbyte)(c >> 8), (jbyte)c };
		(*env)->SetByteArrayRegion(env, a, 0, 4, code);
		(*env)->SetByteArrayRegion(env, a, 4, (jsize)n, (const jbyte *)e->message);
	}
	return a;
}

static jbyteArray JNICALL n_version(JNIEnv *env, jclass cls)
{
	(void)cls;
	return bytes_of(env, fic_version());
}

static jbyteArray JNICALL n_result_str(JNIEnv *env, jclass cls, jint code)
{
	(void)cls;
	return bytes_of(env, fic_result_str(code));
}

/* ---- the due list by page, tasks, calls, site reports, visit options ---- */

static jboolean JNICALL n_store_read_only(JNIEnv *env, jclass cls, jlong h)
{
	(void)cls;
	STORE_OR(JNI_FALSE);
	return fic_store_read_only(store) ? JNI_TRUE : JNI_FALSE;
}

static jbyteArray JNICALL n_due_summary_json(JNIEnv *env, jclass cls, jlong h)
{
	(void)cls;
	STORE_OR(NULL);
	char *json = NULL;
	int rc = fic_due_summary_json(&json, store);
	return take_text(env, rc, json);
}

static jbyteArray JNICALL n_due_page_json(JNIEnv *env, jclass cls, jlong h, jbyteArray area_b,
                                          jbyteArray cursor_b, jint limit)
{
	(void)cls;
	STORE_OR(NULL);
	char *area = NULL, *cursor = NULL, *json = NULL;
	jbyteArray res = NULL;
	if (limit < 0) {
		throw_fic(env, FIC_EINVAL, "due page: the limit is negative");
	} else if (text_in(env, area_b, &area, "area") && text_in(env, cursor_b, &cursor, "cursor")) {
		int rc = fic_due_page_json(&json, store, area, cursor, (size_t)limit);
		res = take_text(env, rc, json);
	}
	free(area);
	free(cursor);
	return res;
}

static void JNICALL n_task_complete(JNIEnv *env, jclass cls, jlong h, jbyteArray task_b,
                                    jbyteArray insp_b, jbyteArray note_b)
{
	(void)cls;
	STORE_OR();
	char *task = NULL, *insp = NULL, *note = NULL;
	if (text_in(env, task_b, &task, "task id") && text_in(env, insp_b, &insp, "inspection id") &&
	    text_in(env, note_b, &note, "note"))
		ok(env, fic_task_complete(store, task, insp, note));
	free(task);
	free(insp);
	free(note);
}

static void JNICALL n_lead_call_record(JNIEnv *env, jclass cls, jlong h, jbyteArray lead_b,
                                       jbyteArray method_b, jlong at_ms, jbyteArray to_b,
                                       jbyteArray note_b)
{
	(void)cls;
	STORE_OR();
	char *lead = NULL, *method = NULL, *to = NULL, *note = NULL;
	if (text_in(env, lead_b, &lead, "lead id") && text_in(env, method_b, &method, "method") &&
	    text_in(env, to_b, &to, "to whom") && text_in(env, note_b, &note, "note"))
		ok(env, fic_lead_call_record(store, lead, method, at_ms, to, note));
	free(lead);
	free(method);
	free(to);
	free(note);
}

static jbyteArray JNICALL n_site_report(JNIEnv *env, jclass cls, jlong h, jbyteArray site_b,
                                        jint finding, jbyteArray reason_b, jobjectArray sa,
                                        jintArray ia, jdoubleArray da)
{
	(void)cls;
	STORE_OR(NULL);
	char *site = NULL, *reason = NULL;
	char *strs[SITE_STRS] = { 0 };
	fic_site s;
	bool have = sa != NULL;
	jbyteArray res = NULL;
	char id[FIC_UUID_BUFSIZE];
	if (text_in(env, site_b, &site, "site id") && text_in(env, reason_b, &reason, "reason") &&
	    (!have || site_in(env, sa, ia, da, &s, strs)) &&
	    ok(env, fic_site_report(id, store, site, finding, reason, have ? &s : NULL)))
		res = bytes_of(env, id);
	free(site);
	free(reason);
	strs_free(strs, SITE_STRS);
	return res;
}

static jbyteArray JNICALL n_inspection_start_opts(JNIEnv *env, jclass cls, jlong h,
                                                  jbyteArray site_b, jbyteArray checklist_b,
                                                  jint visit_mode, jbyteArray scan_b)
{
	(void)cls;
	STORE_OR(NULL);
	char *site = NULL, *checklist = NULL, *scan = NULL;
	jbyteArray res = NULL;
	char id[FIC_UUID_BUFSIZE];
	fic_inspection_options o = FIC_INSPECTION_OPTIONS_INIT;
	o.visit_mode = visit_mode;
	if (text_in(env, site_b, &site, "site id") &&
	    text_in(env, checklist_b, &checklist, "checklist id") &&
	    text_in(env, scan_b, &scan, "scan id")) {
		o.scan_id = scan;
		if (ok(env, fic_inspection_start_opts(id, store, site, checklist, &o)))
			res = bytes_of(env, id);
	}
	free(site);
	free(checklist);
	free(scan);
	return res;
}

/* ---- place codes and scans (visit.h) ---- */

/* A scanned payload as bytes of its own length (the C calls take a length: no NUL check
 * here, the parser refuses one itself). NULL with an exception when memory ran out. */
static char *payload_in(JNIEnv *env, jbyteArray a, size_t *len)
{
	*len = 0;
	if (a == NULL) {
		throw_fic(env, FIC_EINVAL, "place code: no payload");
		return NULL;
	}
	jsize n = (*env)->GetArrayLength(env, a);
	char *s = malloc((size_t)n + 1);
	if (s == NULL) {
		throw_fic(env, FIC_ENOMEM, "out of memory copying the payload");
		return NULL;
	}
	(*env)->GetByteArrayRegion(env, a, 0, n, (jbyte *)s);
	s[n] = '\0';
	*len = (size_t)n;
	return s;
}

static jobjectArray JNICALL n_place_code_parse(JNIEnv *env, jclass cls, jbyteArray payload_b)
{
	(void)cls;
	size_t len;
	char *payload = payload_in(env, payload_b, &len);
	if (payload == NULL)
		return NULL;
	fic_place_code *pc = NULL;
	int rc = fic_place_code_parse(&pc, payload, len);
	free(payload);
	if (!ok(env, rc))
		return NULL;
	rows r = { 0 };
	rows_num(&r, pc->form);
	const char *strs[] = { pc->key,         pc->code,       pc->name,   pc->address,
		               pc->legal_rep,   pc->manager,    pc->scope,  pc->credit_code,
		               pc->licence_no };
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		rows_str(&r, strs[i]);
	fic_place_code_free(pc);
	return rows_finish(env, &r);
}

static void JNICALL n_site_code_add(JNIEnv *env, jclass cls, jlong h, jbyteArray site_b,
                                    jbyteArray payload_b, jbyteArray label_b)
{
	(void)cls;
	STORE_OR();
	char *site = NULL, *payload = NULL, *label = NULL;
	if (text_in(env, site_b, &site, "site id") && text_in(env, payload_b, &payload, "payload") &&
	    text_in(env, label_b, &label, "label"))
		ok(env, fic_site_code_add(store, site, payload, label));
	free(site);
	free(payload);
	free(label);
}

static void JNICALL n_site_code_remove(JNIEnv *env, jclass cls, jlong h, jbyteArray site_b,
                                       jbyteArray payload_b)
{
	(void)cls;
	STORE_OR();
	char *site = NULL, *payload = NULL;
	if (text_in(env, site_b, &site, "site id") && text_in(env, payload_b, &payload, "payload"))
		ok(env, fic_site_code_remove(store, site, payload));
	free(site);
	free(payload);
}

static jbyteArray JNICALL n_site_codes_json(JNIEnv *env, jclass cls, jlong h, jbyteArray site_b)
{
	(void)cls;
	STORE_OR(NULL);
	TEXT_OR(site, site_b, "site id", NULL);
	char *json = NULL;
	int rc = fic_site_codes_json(&json, store, site);
	free(site);
	return take_text(env, rc, json);
}

static jbyteArray JNICALL n_visit_scan(JNIEnv *env, jclass cls, jlong h, jbyteArray payload_b,
                                       jboolean has_location, jdouble lat, jdouble lon,
                                       jdouble accuracy)
{
	(void)cls;
	STORE_OR(NULL);
	size_t len;
	char *payload = payload_in(env, payload_b, &len);
	if (payload == NULL)
		return NULL;
	fic_scan_options o = FIC_SCAN_OPTIONS_INIT;
	o.has_location = has_location ? 1 : 0;
	o.lat = lat;
	o.lon = lon;
	o.accuracy_m = accuracy;
	char *json = NULL;
	int rc = fic_visit_scan(&json, store, payload, len, &o);
	free(payload);
	return take_text(env, rc, json);
}

/* ---- records.h: registers, activities, samples, notices, water status, the plan ---- */

/* Strings from a Java byte[][] of exactly n (each may be null); malloc'd into out[] (free
 * them with strs_free whatever this returns). */
static bool strs_in(JNIEnv *env, jobjectArray a, int n, char **out, const char *const *names,
                    const char *what)
{
	memset(out, 0, sizeof(char *) * (size_t)n);
	if (a == NULL || (*env)->GetArrayLength(env, a) != n) {
		char msg[120];
		snprintf(msg, sizeof msg, "%s: malformed record from the binding", what);
		throw_fic(env, FIC_EINVAL, msg);
		return false;
	}
	for (int i = 0; i < n; i++) {
		jbyteArray b = (jbyteArray)(*env)->GetObjectArrayElement(env, a, i);
		bool good = text_in(env, b, &out[i], names[i]);
		(*env)->DeleteLocalRef(env, b);
		if (!good)
			return false;
	}
	return true;
}

static jbyteArray JNICALL n_register_get(JNIEnv *env, jclass cls, jlong h, jint which,
                                         jbyteArray month_b, jbyteArray area_b, jint format)
{
	(void)cls;
	STORE_OR(NULL);
	char *month = NULL, *area = NULL, *text = NULL;
	jbyteArray res = NULL;
	if (text_in(env, month_b, &month, "month") && text_in(env, area_b, &area, "area")) {
		int rc = fic_register_get(&text, store, which, month, area, format);
		res = take_text(env, rc, text);
	}
	free(month);
	free(area);
	return res;
}

#define ACTIVITY_STRS 10

static jbyteArray JNICALL n_activity_add(JNIEnv *env, jclass cls, jlong h, jint kind,
                                         jint people, jobjectArray sa)
{
	(void)cls;
	STORE_OR(NULL);
	static const char *const names[ACTIVITY_STRS] = { "area",    "date",   "topic",
		                                          "place",   "audience", "channel",
		                                          "format",  "case number", "site id",
		                                          "note" };
	char *s[ACTIVITY_STRS];
	jbyteArray res = NULL;
	char id[FIC_UUID_BUFSIZE];
	if (strs_in(env, sa, ACTIVITY_STRS, s, names, "activity")) {
		fic_activity a = FIC_ACTIVITY_INIT;
		a.kind = kind;
		a.people = people;
		a.area = s[0];
		a.date = s[1];
		a.topic = s[2];
		a.place = s[3];
		a.audience = s[4];
		a.channel = s[5];
		a.format = s[6];
		a.case_ref = s[7];
		a.site_id = s[8];
		a.note = s[9];
		if (ok(env, fic_activity_add(id, store, &a)))
			res = bytes_of(env, id);
	}
	strs_free(s, ACTIVITY_STRS);
	return res;
}

static jbyteArray JNICALL n_activity_list_json(JNIEnv *env, jclass cls, jlong h, jint year,
                                               jint kind)
{
	(void)cls;
	STORE_OR(NULL);
	char *json = NULL;
	int rc = fic_activity_list_json(&json, store, year, kind);
	return take_text(env, rc, json);
}

#define SAMPLE_STRS 6

static jbyteArray JNICALL n_sample_add(JNIEnv *env, jclass cls, jlong h, jlong taken_at,
                                       jobjectArray sa)
{
	(void)cls;
	STORE_OR(NULL);
	static const char *const names[SAMPLE_STRS] = { "sample number", "site id", "point",
		                                        "taken by",      "received by", "note" };
	char *s[SAMPLE_STRS];
	jbyteArray res = NULL;
	char id[FIC_UUID_BUFSIZE];
	if (strs_in(env, sa, SAMPLE_STRS, s, names, "sample")) {
		fic_sample x = FIC_SAMPLE_INIT;
		x.sample_no = s[0];
		x.site_id = s[1];
		x.point = s[2];
		x.taken_at_ms = taken_at;
		x.taken_by = s[3];
		x.received_by = s[4];
		x.note = s[5];
		if (ok(env, fic_sample_add(id, store, &x)))
			res = bytes_of(env, id);
	}
	strs_free(s, SAMPLE_STRS);
	return res;
}

static void JNICALL n_sample_result_set(JNIEnv *env, jclass cls, jlong h, jbyteArray no_b,
                                        jboolean passed, jbyteArray on_b, jbyteArray detail_b)
{
	(void)cls;
	STORE_OR();
	char *no = NULL, *on = NULL, *detail = NULL;
	if (text_in(env, no_b, &no, "sample number") && text_in(env, on_b, &on, "report date") &&
	    text_in(env, detail_b, &detail, "detail"))
		ok(env, fic_sample_result_set(store, no, passed ? 1 : 0, on, detail));
	free(no);
	free(on);
	free(detail);
}

static jbyteArray JNICALL n_sample_list_json(JNIEnv *env, jclass cls, jlong h, jbyteArray site_b)
{
	(void)cls;
	STORE_OR(NULL);
	TEXT_OR(site, site_b, "site id", NULL);
	char *json = NULL;
	int rc = fic_sample_list_json(&json, store, site);
	free(site);
	return take_text(env, rc, json);
}

static jbyteArray JNICALL n_authority_notice_add(JNIEnv *env, jclass cls, jlong h,
                                                 jbyteArray site_b, jint reason,
                                                 jbyteArray authority_b, jbyteArray method_b,
                                                 jbyteArray note_b)
{
	(void)cls;
	STORE_OR(NULL);
	char *site = NULL, *authority = NULL, *method = NULL, *note = NULL;
	jbyteArray res = NULL;
	char id[FIC_UUID_BUFSIZE];
	if (text_in(env, site_b, &site, "site id") &&
	    text_in(env, authority_b, &authority, "authority") &&
	    text_in(env, method_b, &method, "method") && text_in(env, note_b, &note, "note") &&
	    ok(env, fic_authority_notice_add(id, store, site, reason, authority, method, note)))
		res = bytes_of(env, id);
	free(site);
	free(authority);
	free(method);
	free(note);
	return res;
}

/* A JSON document of the store with no arguments: which names the call. */
static jbyteArray JNICALL n_store_json(JNIEnv *env, jclass cls, jlong h, jint which)
{
	(void)cls;
	STORE_OR(NULL);
	char *json = NULL;
	int rc;
	switch (which) {
	case 1:
		rc = fic_authority_notices_due_json(&json, store);
		break;
	case 2:
		rc = fic_water_status_json(&json, store);
		break;
	case 3:
		rc = fic_patrol_plan_json(&json, store);
		break;
	case 4:
		rc = fic_lead_sms_due_json(&json, store);
		break;
	default:
		throw_fic(env, FIC_EINVAL, "no such document");
		return NULL;
	}
	return take_text(env, rc, json);
}

static void JNICALL n_patrol_plan_set(JNIEnv *env, jclass cls, jlong h, jbyteArray json_b)
{
	(void)cls;
	STORE_OR();
	TEXT_OR(json, json_b, "patrol plan", );
	ok(env, fic_patrol_plan_set(store, json));
	free(json);
}

/* ---- sms.h: the SMS fallback of urgent leads ---- */

static jobjectArray JNICALL n_lead_sms(JNIEnv *env, jclass cls, jlong h, jbyteArray lead_b)
{
	(void)cls;
	STORE_OR(NULL);
	TEXT_OR(lead, lead_b, "lead id", NULL);
	fic_sms *m = NULL;
	int rc = fic_lead_sms(&m, store, lead);
	free(lead);
	if (!ok(env, rc))
		return NULL;
	rows r = { 0 };
	rows_str(&r, m->lead_id);
	rows_str(&r, m->recipient);
	rows_num(&r, m->format);
	rows_num(&r, (int64_t)m->frame_bytes);
	rows_num(&r, (int64_t)m->count);
	for (size_t i = 0; i < m->count && i < FIC_SMS_PARTS_MAX; i++)
		rows_str(&r, m->parts[i]);
	fic_sms_free(m);
	return rows_finish(env, &r);
}

static void JNICALL n_lead_sms_sent(JNIEnv *env, jclass cls, jlong h, jbyteArray lead_b)
{
	(void)cls;
	STORE_OR();
	TEXT_OR(lead, lead_b, "lead id", );
	ok(env, fic_lead_sms_sent(store, lead));
	free(lead);
}

static void JNICALL n_lead_sms_receipt(JNIEnv *env, jclass cls, jlong h, jbyteArray lead_b,
                                       jbyteArray text_b)
{
	(void)cls;
	STORE_OR();
	char *lead = NULL, *text = NULL;
	if (text_in(env, lead_b, &lead, "lead id") && text_in(env, text_b, &text, "confirmation"))
		ok(env, fic_lead_sms_receipt(store, lead, text));
	free(lead);
	free(text);
}

/* {live blocks of the core's allocator, global references held by the binding} */
static jlongArray JNICALL n_debug_counters(JNIEnv *env, jclass cls)
{
	(void)cls;
	jlong v[2] = { atomic_load(&live_blocks), atomic_load(&global_refs) };
	jlongArray a = (*env)->NewLongArray(env, 2);
	if (a)
		(*env)->SetLongArrayRegion(env, a, 0, 2, v);
	return a;
}

#define SITE_ARGS "[[B[I[D"
#define ROWS "[Ljava/lang/Object;"
#define TRANSPORT "Lorg/fieldinspect/Transport;"
#define LISTENER "Lorg/fieldinspect/SyncListener;"
#define SECRETS "Lorg/fieldinspect/SecretStore;"

static const JNINativeMethod methods[] = {
	{ "storeOpen", "([B[BI[B[BI" SECRETS ")J", (void *)n_store_open },
	{ "storeClose", "(J)V", (void *)n_store_close },
	{ "storeDeviceId", "(J)[B", (void *)n_store_device_id },
	{ "storeCheck", "(J)V", (void *)n_store_check },
	{ "storeSchemaVersion", "()I", (void *)n_store_schema_version },
	{ "storeNewId", "(J)[B", (void *)n_store_new_id },
	{ "storeStatsGet", "(J)[J", (void *)n_store_stats_get },
	{ "auditListGet", "(J[BJ)" ROWS, (void *)n_audit_list_get },
	{ "siteAdd", "(J" SITE_ARGS "[B)" ROWS, (void *)n_site_add },
	{ "siteUpdate", "(J" SITE_ARGS "[B)" ROWS, (void *)n_site_update },
	{ "siteClose", "(J[B[B)V", (void *)n_site_close },
	{ "siteGet", "(J[B)" ROWS, (void *)n_site_get },
	{ "siteFindByPlaceCode", "(J[B)" ROWS, (void *)n_site_find_by_place_code },
	{ "siteFindByCreditCode", "(J[B)" ROWS, (void *)n_site_find_by_credit_code },
	{ "siteSearch", "(JI[BJ)" ROWS, (void *)n_site_search },
	{ "siteNear", "(JDDDJ)" ROWS, (void *)n_site_near },
	{ "siteToJson", "(" SITE_ARGS ")[B", (void *)n_site_to_json },
	{ "siteCodeStr", "(II)[B", (void *)n_site_code_str },
	{ "siteCodeLabel", "(II)[B", (void *)n_site_code_label },
	{ "siteCodeParse", "(I[B)I", (void *)n_site_code_parse },
	{ "creditCodeCheck", "([B)V", (void *)n_credit_code_check },
	{ "checklistListGet", "(JII)" ROWS, (void *)n_checklist_list_get },
	{ "checklistGetJson", "(J[BI)[B", (void *)n_checklist_get_json },
	{ "checklistInstall", "(J[B)V", (void *)n_checklist_install },
	{ "inspectionStart", "(J[B[B)[B", (void *)n_inspection_start },
	{ "inspectionAnswer", "(J[B[B[B)V", (void *)n_inspection_answer },
	{ "inspectionNote", "(J[B[B[B)V", (void *)n_inspection_note },
	{ "inspectionReportSite", "(J[BI[B" SITE_ARGS ")V", (void *)n_inspection_report_site },
	{ "inspectionGetJson", "(J[B)[B", (void *)n_inspection_get_json },
	{ "inspectionFinish", "(J[B)[B", (void *)n_inspection_finish },
	{ "inspectionOpinion", "(J[BI)[B", (void *)n_inspection_opinion },
	{ "leadFile", "(J[B[B[BJI)[B", (void *)n_lead_file },
	{ "leadSubmit", "(J[B)V", (void *)n_lead_submit },
	{ "leadCorrect", "(J[B[B)[B", (void *)n_lead_correct },
	{ "leadListGet", "(JJ)" ROWS, (void *)n_lead_list_get },
	{ "leadGetJson", "(J[B)[B", (void *)n_lead_get_json },
	{ "taskListJson", "(J)[B", (void *)n_task_list_json },
	{ "dueJson", "(J)[B", (void *)n_due_json },
	{ "statsJson", "(JI)[B", (void *)n_stats_json },
	{ "settingSet", "(J[B[B)V", (void *)n_setting_set },
	{ "settingGet", "(J[B)[B", (void *)n_setting_get },
	{ "photoAddBuffer", "(JI[B[B[B[I[D)[B", (void *)n_photo_add_buffer },
	{ "photoAddFile", "(JI[B[B[B[I[D)[B", (void *)n_photo_add_file },
	{ "photoGet", "(J[B)" ROWS, (void *)n_photo_get },
	{ "photoRender", "([BII)[B", (void *)n_photo_render },
	{ "evidenceVerify", "(J)[B", (void *)n_evidence_verify },
	{ "chainVerify", "([B[BJ)[B", (void *)n_chain_verify },
	{ "timeNow", "(J)" ROWS, (void *)n_time_now },
	{ "timeContact", "(JJJ)V", (void *)n_time_contact },
	{ "cancelNew", "()J", (void *)n_cancel_new },
	{ "cancelRequest", "(J)V", (void *)n_cancel_request },
	{ "cancelReset", "(J)V", (void *)n_cancel_reset },
	{ "cancelRequested", "(J)Z", (void *)n_cancel_requested },
	{ "cancelFree", "(J)V", (void *)n_cancel_free },
	{ "syncEnroll", "(J" TRANSPORT "[BJ[B[B[J)[J", (void *)n_sync_enroll },
	{ "syncEnrolled", "(J)[B", (void *)n_sync_enrolled },
	{ "syncUnenroll", "(J)V", (void *)n_sync_unenroll },
	{ "syncRun", "(J" TRANSPORT "[BJ" LISTENER "Z[J)[J", (void *)n_sync_run },
	{ "syncPush", "(J" TRANSPORT "[BJ" LISTENER "Z[J)[J", (void *)n_sync_push },
	{ "syncPull", "(J" TRANSPORT "[BJ" LISTENER "Z[J)[J", (void *)n_sync_pull },
	{ "syncNetworkChanged", "(JZ)V", (void *)n_sync_network_changed },
	{ "syncRejectionsGet", "(J)" ROWS, (void *)n_sync_rejections_get },
	{ "storeReadOnly", "(J)Z", (void *)n_store_read_only },
	{ "dueSummaryJson", "(J)[B", (void *)n_due_summary_json },
	{ "duePageJson", "(J[B[BI)[B", (void *)n_due_page_json },
	{ "taskComplete", "(J[B[B[B)V", (void *)n_task_complete },
	{ "leadCallRecord", "(J[B[BJ[B[B)V", (void *)n_lead_call_record },
	{ "siteReport", "(J[BI[B" SITE_ARGS ")[B", (void *)n_site_report },
	{ "inspectionStartOpts", "(J[B[BI[B)[B", (void *)n_inspection_start_opts },
	{ "placeCodeParse", "([B)" ROWS, (void *)n_place_code_parse },
	{ "siteCodeAdd", "(J[B[B[B)V", (void *)n_site_code_add },
	{ "siteCodeRemove", "(J[B[B)V", (void *)n_site_code_remove },
	{ "siteCodesJson", "(J[B)[B", (void *)n_site_codes_json },
	{ "visitScan", "(J[BZDDD)[B", (void *)n_visit_scan },
	{ "registerGet", "(JI[B[BI)[B", (void *)n_register_get },
	{ "activityAdd", "(JII[[B)[B", (void *)n_activity_add },
	{ "activityListJson", "(JII)[B", (void *)n_activity_list_json },
	{ "sampleAdd", "(JJ[[B)[B", (void *)n_sample_add },
	{ "sampleResultSet", "(J[BZ[B[B)V", (void *)n_sample_result_set },
	{ "sampleListJson", "(J[B)[B", (void *)n_sample_list_json },
	{ "authorityNoticeAdd", "(J[BI[B[B[B)[B", (void *)n_authority_notice_add },
	{ "storeJson", "(JI)[B", (void *)n_store_json },
	{ "patrolPlanSet", "(J[B)V", (void *)n_patrol_plan_set },
	{ "leadSms", "(J[B)" ROWS, (void *)n_lead_sms },
	{ "leadSmsSent", "(J[B)V", (void *)n_lead_sms_sent },
	{ "leadSmsReceipt", "(J[B[B)V", (void *)n_lead_sms_receipt },
	{ "version", "()[B", (void *)n_version },
	{ "errorLast", "()[B", (void *)n_error_last },
	{ "resultStr", "(I)[B", (void *)n_result_str },
	{ "debugCounters", "()[J", (void *)n_debug_counters },
};

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved)
{
	(void)reserved;
	JNIEnv *env;
	if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_6) != JNI_OK)
		return JNI_ERR;
	jvm = vm;
	/* Before the core allocates anything (fic_allocator_set's rule). */
	fic_allocator counting = { FIC_ALLOCATOR_VERSION, count_realloc, count_free, NULL };
	if (fic_allocator_set(&counting) != FIC_OK)
		return JNI_ERR;
	jclass n = (*env)->FindClass(env, NATIVE_CLASS);
	jclass e = n ? (*env)->FindClass(env, EXCEPTION_CLASS) : NULL;
	jclass o = e ? (*env)->FindClass(env, "java/lang/Object") : NULL;
	if (o == NULL)
		return JNI_ERR;
	c_native = global_ref(env, n);
	c_exception = global_ref(env, e);
	c_object = global_ref(env, o);
	(*env)->DeleteLocalRef(env, n);
	(*env)->DeleteLocalRef(env, e);
	(*env)->DeleteLocalRef(env, o);
	m_exception_init = (*env)->GetMethodID(env, c_exception, "<init>", "(I[B)V");
	m_exception_code = (*env)->GetMethodID(env, c_exception, "code", "()I");
	m_exception_bytes = (*env)->GetMethodID(env, c_exception, "messageBytes", "()[B");
	m_bridge_request = (*env)->GetStaticMethodID(
		env, c_native, "bridgeRequest",
		"(" TRANSPORT "[B[B[Ljava/lang/Object;[BJJJJJJ)[Ljava/lang/Object;");
	m_bridge_progress = (*env)->GetStaticMethodID(env, c_native, "bridgeProgress",
	                                              "(" LISTENER "JJJIJJ)V");
	m_secret_get = (*env)->GetStaticMethodID(env, c_native, "bridgeSecretGet",
	                                         "(" SECRETS "[B[B)[B");
	m_secret_put = (*env)->GetStaticMethodID(env, c_native, "bridgeSecretPut",
	                                         "(" SECRETS "[B[B[B)V");
	m_secret_delete = (*env)->GetStaticMethodID(env, c_native, "bridgeSecretDelete",
	                                            "(" SECRETS "[B[B)V");
	jclass tc = (*env)->FindClass(env, "org/fieldinspect/Transport");
	m_transport_concurrent = tc ? (*env)->GetMethodID(env, tc, "concurrent", "()Z") : NULL;
	if (tc)
		(*env)->DeleteLocalRef(env, tc);
	if (!c_native || !c_exception || !c_object || !m_exception_init || !m_exception_code ||
	    !m_exception_bytes || !m_bridge_request || !m_bridge_progress || !m_secret_get ||
	    !m_secret_put || !m_secret_delete || !m_transport_concurrent)
		return JNI_ERR;
	if ((*env)->RegisterNatives(env, c_native, methods,
	                            (jint)(sizeof methods / sizeof methods[0])) != 0)
		return JNI_ERR;
	return JNI_VERSION_1_6;
}
