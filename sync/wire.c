/*
 * sync/wire.c — the records batch on the wire and the server's answer to it
 * (docs/protocol.md, "Records"), and gzip through zlib. What comes back from
 * the network is untrusted: the parser checks size, types and that the
 * answer speaks of exactly the records that were sent, and refuses anything
 * else with FIC_EPROTO before a single outbox row is touched.
 */
#include "sync_internal.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <string.h>
#include <zlib.h>

static bool chained(const char *type)
{
	return strcmp(type, "lead") == 0 || strcmp(type, "inspection") == 0 ||
	       strcmp(type, "scan") == 0;
}

int fic__wire_encode_batch(const fic__outbox_batch *batch, bool gzip, unsigned char **body,
                           size_t *body_len)
{
	if (batch == NULL || batch->count == 0 || body == NULL || body_len == NULL)
		return fic__err(FIC_EINVAL, "records batch: bad arguments");
	*body = NULL;
	*body_len = 0;
	cJSON *root = cJSON_CreateObject();
	cJSON *records = root ? cJSON_CreateArray() : NULL;
	int rc = FIC_OK;
	if (root == NULL || !fic__json_put(root, "records", records)) {
		rc = fic__err(FIC_ENOMEM, "out of memory encoding a records batch");
		goto done;
	}
	for (size_t i = 0; i < batch->count && rc == FIC_OK; i++) {
		const fic__outbox_item *it = &batch->items[i];
		cJSON *payload = cJSON_Parse(it->payload);
		if (payload == NULL || !cJSON_IsObject(payload)) {
			cJSON_Delete(payload);
			rc = fic__alloc_failures() ? fic__err(FIC_ENOMEM, "out of memory encoding")
			                           : fic__err(FIC_ECORRUPT,
			                                      "outbox row %lld holds no JSON object",
			                                      (long long)it->seq);
			break;
		}
		cJSON *rec;
		if (chained(it->record_type)) {
			/* {seq, hash, canonical} as the core stored them. */
			rec = payload;
			cJSON_DeleteItemFromObjectCaseSensitive(rec, "type");
			cJSON_DeleteItemFromObjectCaseSensitive(rec, "id");
			cJSON_DeleteItemFromObjectCaseSensitive(rec, "op");
		} else {
			rec = cJSON_CreateObject();
			if (rec == NULL || !fic__json_take(rec, "payload", &payload)) {
				cJSON_Delete(rec);
				cJSON_Delete(payload);
				rc = fic__err(FIC_ENOMEM, "out of memory encoding a records batch");
				break;
			}
		}
		if (!fic__json_put(rec, "type", cJSON_CreateString(it->record_type)) ||
		    !fic__json_put(rec, "id", cJSON_CreateString(FIC_WIRE_ID(it))) ||
		    !fic__json_put(rec, "op", cJSON_CreateString(it->op))) {
			cJSON_Delete(rec);
			rc = fic__err(FIC_ENOMEM, "out of memory encoding a records batch");
			break;
		}
		if (!fic__json_put(records, NULL, rec)) { /* rec freed by the failed put */
			rc = fic__err(FIC_ENOMEM, "out of memory encoding a records batch");
			break;
		}
	}
	if (rc != FIC_OK)
		goto done;
	char *text = cJSON_PrintUnformatted(root);
	if (text == NULL) {
		rc = fic__err(FIC_ENOMEM, "out of memory encoding a records batch");
		goto done;
	}
	size_t len = strlen(text);
	if (gzip) {
		rc = fic__gzip(text, len, body, body_len);
		cJSON_free(text);
	} else {
		*body = fic__malloc(len ? len : 1);
		if (*body == NULL)
			rc = fic__err(FIC_ENOMEM, "out of memory encoding a records batch");
		else {
			memcpy(*body, text, len);
			*body_len = len;
		}
		cJSON_free(text);
	}
done:
	cJSON_Delete(root);
	return rc;
}

void fic__wire_results_free(fic__record_result *results, size_t count)
{
	if (results == NULL)
		return;
	for (size_t i = 0; i < count; i++) {
		fic__free(results[i].receipt_id);
		fic__free(results[i].reason);
	}
	fic__free(results);
}

/* A string field of at most `max` bytes of valid UTF-8, or NULL. */
static const char *str_field(const cJSON *o, const char *key, size_t max)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return NULL;
	size_t n = strlen(v->valuestring);
	if (n > max || !fic__utf8_valid(v->valuestring, n))
		return NULL;
	return v->valuestring;
}

/* A whole number of milliseconds in [0, 2^53]; false if absent or not one. */
static bool ms_field(const cJSON *o, const char *key, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsNumber(v))
		return false;
	double d = v->valuedouble;
	if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(int64_t)d)
		return false;
	*out = (int64_t)d;
	return true;
}

int fic__wire_parse_results(const char *body, size_t len, const fic__outbox_batch *batch,
                            fic__record_result **results)
{
	if (results == NULL || batch == NULL || (body == NULL && len > 0))
		return fic__err(FIC_EINVAL, "records answer: bad arguments");
	*results = NULL;
	if (len > FIC_SYNC_RESPONSE_MAX_BYTES)
		return fic__err(FIC_EPROTO, "server answer of %zu bytes exceeds the %d-byte limit", len,
		                FIC_SYNC_RESPONSE_MAX_BYTES);
	if (body == NULL || len == 0)
		return fic__err(FIC_EPROTO, "server answer is empty");
	cJSON *root = cJSON_ParseWithLength(body, len);
	if (root == NULL)
		return fic__alloc_failures() ? fic__err(FIC_ENOMEM, "out of memory reading the answer")
		                             : fic__err(FIC_EPROTO, "server answer is not JSON");
	int rc = FIC_OK;
	fic__record_result *res = fic__calloc(batch->count ? batch->count : 1, sizeof *res);
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "results");
	if (res == NULL) {
		rc = fic__err(FIC_ENOMEM, "out of memory reading the answer");
		goto done;
	}
	if (!cJSON_IsObject(root) || !cJSON_IsArray(arr)) {
		rc = fic__err(FIC_EPROTO, "server answer has no \"results\" array");
		goto done;
	}
	if ((size_t)cJSON_GetArraySize(arr) != batch->count) {
		rc = fic__err(FIC_EPROTO, "server answered %d results for %zu records",
		              cJSON_GetArraySize(arr), batch->count);
		goto done;
	}
	const cJSON *r;
	cJSON_ArrayForEach(r, arr)
	{
		const char *id = cJSON_IsObject(r) ? str_field(r, "id", 64) : NULL;
		const char *status = cJSON_IsObject(r) ? str_field(r, "status", 16) : NULL;
		if (id == NULL || status == NULL) {
			rc = fic__err(FIC_EPROTO, "a result lacks a valid id or status");
			goto done;
		}
		size_t k = 0;
		while (k < batch->count && strcmp(FIC_WIRE_ID(&batch->items[k]), id) != 0)
			k++;
		if (k == batch->count) {
			rc = fic__err(FIC_EPROTO, "a result names record %.64s, which was not sent", id);
			goto done;
		}
		fic__record_result *o = &res[k];
		if (o->kind != 0) {
			rc = fic__err(FIC_EPROTO, "two results for record %.64s", id);
			goto done;
		}
		if (strcmp(status, "stored") == 0 || strcmp(status, "duplicate") == 0) {
			const char *receipt = str_field(r, "receipt_id", 128);
			if (receipt == NULL || receipt[0] == '\0' ||
			    !ms_field(r, "received_at_ms", &o->received_at_ms)) {
				rc = fic__err(FIC_EPROTO,
				              "result for %.64s lacks a valid receipt_id or received_at_ms", id);
				goto done;
			}
			o->kind = status[0] == 's' ? FIC__RESULT_STORED : FIC__RESULT_DUPLICATE;
			if ((o->receipt_id = fic__strdup(receipt)) == NULL) {
				rc = fic__err(FIC_ENOMEM, "out of memory reading the answer");
				goto done;
			}
		} else if (strcmp(status, "rejected") == 0) {
			const char *reason = str_field(r, "reason", 1024);
			const cJSON *retry = cJSON_GetObjectItemCaseSensitive(r, "retry");
			if (reason == NULL || !cJSON_IsBool(retry)) {
				rc = fic__err(FIC_EPROTO, "rejection of %.64s lacks a valid reason or retry", id);
				goto done;
			}
			o->kind = FIC__RESULT_REJECTED;
			o->retry = cJSON_IsTrue(retry);
			if (cJSON_GetObjectItemCaseSensitive(r, "retry_after_ms") &&
			    !ms_field(r, "retry_after_ms", &o->retry_after_ms)) {
				rc = fic__err(FIC_EPROTO, "rejection of %.64s has a bad retry_after_ms", id);
				goto done;
			}
			if ((o->reason = fic__strdup(reason)) == NULL) {
				rc = fic__err(FIC_ENOMEM, "out of memory reading the answer");
				goto done;
			}
		} else {
			rc = fic__err(FIC_EPROTO, "result for %.64s has unknown status \"%.16s\"", id, status);
			goto done;
		}
	}
done:
	cJSON_Delete(root);
	if (rc != FIC_OK) {
		fic__wire_results_free(res, batch->count);
		return rc;
	}
	*results = res;
	return FIC_OK;
}

int fic__gzip(const void *data, size_t len, unsigned char **out, size_t *out_len)
{
	if ((data == NULL && len > 0) || out == NULL || out_len == NULL)
		return fic__err(FIC_EINVAL, "gzip: bad arguments");
	*out = NULL;
	*out_len = 0;
	if (len > UINT_MAX / 2)
		return fic__err(FIC_ETOOBIG, "gzip: %zu bytes is too much for one body", len);
	z_stream z;
	memset(&z, 0, sizeof z);
	/* windowBits 15 + 16: a gzip wrapper, as Content-Encoding: gzip wants. */
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return fic__err(FIC_ENOMEM, "gzip: cannot start the compressor");
	uLong cap = deflateBound(&z, (uLong)len);
	unsigned char *buf = fic__malloc(cap);
	if (buf == NULL) {
		deflateEnd(&z);
		return fic__err(FIC_ENOMEM, "out of memory compressing");
	}
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	z.next_out = buf;
	z.avail_out = (uInt)cap;
	int zr = deflate(&z, Z_FINISH);
	size_t n = (size_t)z.total_out;
	deflateEnd(&z);
	if (zr != Z_STREAM_END) {
		fic__free(buf);
		return fic__err(FIC_ERROR, "gzip: compressor stopped early (zlib %d)", zr);
	}
	*out = buf;
	*out_len = n;
	return FIC_OK;
}

int fic__gunzip(const void *data, size_t len, size_t max_out, unsigned char **out,
                size_t *out_len)
{
	if ((data == NULL && len > 0) || out == NULL || out_len == NULL)
		return fic__err(FIC_EINVAL, "gunzip: bad arguments");
	*out = NULL;
	*out_len = 0;
	if (len > UINT_MAX)
		return fic__err(FIC_ETOOBIG, "gunzip: %zu bytes is too much for one body", len);
	z_stream z;
	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return fic__err(FIC_ENOMEM, "gunzip: cannot start the decompressor");
	size_t cap = len * 4 + 64 < max_out ? len * 4 + 64 : max_out + 1;
	unsigned char *buf = fic__malloc(cap);
	int rc = FIC_OK;
	if (buf == NULL) {
		rc = fic__err(FIC_ENOMEM, "out of memory decompressing");
		goto done;
	}
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	for (;;) {
		z.next_out = buf + z.total_out;
		z.avail_out = (uInt)(cap - z.total_out);
		int zr = inflate(&z, Z_NO_FLUSH);
		if (zr == Z_STREAM_END) {
			if (z.avail_in != 0)
				rc = fic__err(FIC_EINVAL, "gunzip: data after the end of the stream");
			break;
		}
		if (z.total_out > max_out) {
			rc = fic__err(FIC_ETOOBIG, "gunzip: more than %zu bytes when inflated", max_out);
			break;
		}
		if (z.avail_out == 0) {
			if (cap > max_out) {
				rc = fic__err(FIC_ETOOBIG, "gunzip: more than %zu bytes when inflated",
				              max_out);
				break;
			}
			size_t ncap = cap * 2 > max_out + 1 ? max_out + 1 : cap * 2;
			unsigned char *n = fic__realloc(buf, ncap);
			if (n == NULL) {
				rc = fic__err(FIC_ENOMEM, "out of memory decompressing");
				break;
			}
			buf = n;
			cap = ncap;
		} else if (zr == Z_BUF_ERROR && z.avail_in == 0) {
			rc = fic__err(FIC_EINVAL, "gunzip: the stream is truncated");
			break;
		} else if (zr != Z_OK && zr != Z_BUF_ERROR) {
			rc = zr == Z_MEM_ERROR ? fic__err(FIC_ENOMEM, "out of memory decompressing")
			                       : fic__err(FIC_EINVAL, "gunzip: not a valid gzip stream");
			break;
		}
	}
	if (rc == FIC_OK && z.total_out > max_out)
		rc = fic__err(FIC_ETOOBIG, "gunzip: more than %zu bytes when inflated", max_out);
done:
	if (rc == FIC_OK) {
		*out = buf;
		*out_len = (size_t)z.total_out;
	} else {
		fic__free(buf);
	}
	inflateEnd(&z);
	return rc;
}
