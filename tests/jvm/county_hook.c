/*
 * tests/jvm/county_hook.c — a JNI test hook: the reference county server
 * (server/county.h) in the JVM test's process, on a loopback port, with its
 * admin calls and fault injection (503 with Retry-After, answers lost after
 * storing) for the Java tests (tests/jvm/java/org/fieldinspect/CountyServer).
 * Test code only: never shipped.
 */
#include "county.h"

#include <jni.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static jclass c_error;

static void fail(JNIEnv *env, const char *what, const char *err)
{
	char msg[600];
	snprintf(msg, sizeof msg, "%s: %s", what, err);
	(*env)->ThrowNew(env, c_error, msg);
}

static char *str(JNIEnv *env, jbyteArray b)
{
	if (b == NULL)
		return NULL;
	jsize n = (*env)->GetArrayLength(env, b);
	char *s = malloc((size_t)n + 1);
	if (s) {
		(*env)->GetByteArrayRegion(env, b, 0, n, (jbyte *)s);
		s[n] = '\0';
	}
	return s;
}

static jbyteArray bytes(JNIEnv *env, const char *s)
{
	if (s == NULL)
		return NULL;
	jsize n = (jsize)strlen(s);
	jbyteArray a = (*env)->NewByteArray(env, n);
	if (a)
		(*env)->SetByteArrayRegion(env, a, 0, n, (const jbyte *)s);
	return a;
}

#define SRV ((county_server *)(intptr_t)h)

static jlong JNICALL n_start(JNIEnv *env, jclass cls, jbyteArray db_b)
{
	(void)cls;
	char err[300] = "";
	char *db = str(env, db_b);
	county_server *s = NULL;
	/* The county's sealing keys beside the test's database (never so in a
	 * deployment: docs/security.md). */
	char keys[4200];
	snprintf(keys, sizeof keys, "%s.keys", db ? db : "");
	if (county_open(&s, db, err, sizeof err) != 0 ||
	    county_set_key_dir(s, keys, err, sizeof err) != 0) {
		county_close(s);
		free(db);
		fail(env, "county_open", err);
		return 0;
	}
	free(db);
	if (county_listen(s, "127.0.0.1:0", err, sizeof err) != 0) {
		county_close(s);
		fail(env, "county_listen", err);
		return 0;
	}
	return (jlong)(intptr_t)s;
}

static jint JNICALL n_port(JNIEnv *env, jclass cls, jlong h)
{
	(void)env;
	(void)cls;
	return county_port(SRV);
}

static void JNICALL n_close(JNIEnv *env, jclass cls, jlong h)
{
	(void)env;
	(void)cls;
	county_close(SRV);
}

static jbyteArray JNICALL n_issue_code(JNIEnv *env, jclass cls, jlong h, jbyteArray county_b)
{
	(void)cls;
	char *county = str(env, county_b);
	char code[32];
	int rc = county_issue_code(SRV, county, code, sizeof code);
	free(county);
	if (rc != 0) {
		fail(env, "county_issue_code", "refused");
		return NULL;
	}
	return bytes(env, code);
}

static jint JNICALL n_load(JNIEnv *env, jclass cls, jlong h, jbyteArray county_b, jbyteArray feed_b,
                           jbyteArray json_b)
{
	(void)cls;
	char *county = str(env, county_b), *feed = str(env, feed_b), *json = str(env, json_b);
	char err[300] = "";
	int n = county_load(SRV, county, feed, json, err, sizeof err);
	free(county);
	free(feed);
	free(json);
	if (n < 0)
		fail(env, "county_load", err);
	return n;
}

static jlong JNICALL n_record_count(JNIEnv *env, jclass cls, jlong h, jbyteArray type_b)
{
	(void)cls;
	char *type = str(env, type_b);
	int64_t n = county_record_count(SRV, type);
	free(type);
	return n;
}

/* An SMS arriving at the county's gateway: the reply it sends back ("" for none). */
static jbyteArray JNICALL n_sms_in(JNIEnv *env, jclass cls, jlong h, jbyteArray text_b)
{
	(void)cls;
	char *text = str(env, text_b);
	county_sms_result r;
	memset(&r, 0, sizeof r);
	int rc = text ? county_sms_in(SRV, text, strlen(text), "+8613800000000", &r) : -1;
	free(text);
	if (rc != 0 && r.reply[0] == '\0') {
		fail(env, "county_sms_in", r.reason[0] ? r.reason : "failed");
		return NULL;
	}
	return bytes(env, r.reply);
}

static jlong JNICALL n_received_at(JNIEnv *env, jclass cls, jlong h, jbyteArray id_b)
{
	(void)cls;
	char *id = str(env, id_b);
	int64_t t = county_received_at(SRV, id);
	free(id);
	return t;
}

static jlong JNICALL n_photo_count(JNIEnv *env, jclass cls, jlong h)
{
	(void)env;
	(void)cls;
	return county_photo_count(SRV);
}

static jlong JNICALL n_photo_bad(JNIEnv *env, jclass cls, jlong h)
{
	(void)env;
	(void)cls;
	return county_photo_bad(SRV);
}

static jint JNICALL n_chain_breaks(JNIEnv *env, jclass cls, jlong h)
{
	(void)env;
	(void)cls;
	return county_chain_breaks(SRV, NULL);
}

static void JNICALL n_fault_busy(JNIEnv *env, jclass cls, jlong h, jint n, jint retry_after_s)
{
	(void)env;
	(void)cls;
	county_fault_busy(SRV, n, retry_after_s);
}

static void JNICALL n_fault_drop(JNIEnv *env, jclass cls, jlong h, jint n)
{
	(void)env;
	(void)cls;
	county_fault_drop_after_store(SRV, n);
}

static const JNINativeMethod methods[] = {
	{ "start", "([B)J", (void *)n_start },
	{ "port", "(J)I", (void *)n_port },
	{ "close", "(J)V", (void *)n_close },
	{ "issueCode", "(J[B)[B", (void *)n_issue_code },
	{ "load", "(J[B[B[B)I", (void *)n_load },
	{ "recordCount", "(J[B)J", (void *)n_record_count },
	{ "receivedAt", "(J[B)J", (void *)n_received_at },
	{ "smsIn", "(J[B)[B", (void *)n_sms_in },
	{ "photoCount", "(J)J", (void *)n_photo_count },
	{ "photoBad", "(J)J", (void *)n_photo_bad },
	{ "chainBreaks", "(J)I", (void *)n_chain_breaks },
	{ "faultBusy", "(JII)V", (void *)n_fault_busy },
	{ "faultDropAfterStore", "(JI)V", (void *)n_fault_drop },
};

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved)
{
	(void)reserved;
	JNIEnv *env;
	if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_6) != JNI_OK)
		return JNI_ERR;
	jclass e = (*env)->FindClass(env, "java/lang/IllegalStateException");
	jclass k = (*env)->FindClass(env, "org/fieldinspect/CountyServer$Native");
	if (e == NULL || k == NULL)
		return JNI_ERR;
	c_error = (*env)->NewGlobalRef(env, e);
	if ((*env)->RegisterNatives(env, k, methods, (jint)(sizeof methods / sizeof methods[0])) != 0)
		return JNI_ERR;
	return JNI_VERSION_1_6;
}
