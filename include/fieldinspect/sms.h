/*
 * fieldinspect/sms.h — the SMS fallback of urgent leads (docs/protocol.md,
 * "SMS fallback").
 *
 * On patrol there is often voice and SMS coverage but no mobile data for
 * hours. When an urgent lead has not reached the county by data and its
 * two-hour deadline draws near (setting "sms_fallback_minutes", lead.h), or
 * when the inspector asks, the core gives the app a short message — one SMS
 * for a typical lead, at most nine — to send to the county's SMS gateway
 * (setting "sms_gateway_number"). The county's server turns it back into
 * the same lead, Chinese text intact, after checking a MAC made with this
 * device's SMS key (from enrolment, sync.h), and answers with a short
 * confirmation the app hands back here. The lead is then *delivered* for
 * the two-hour clock; its record still goes up by data later, where the
 * server recognises it by id (the same receipt, nothing duplicated) and the
 * answer never moves the lead back.
 *
 * What an SMS carries: the category, the site's id, the discovery time
 * (trusted), the site's location when the county's registry does not have
 * the site, the form's numbers, dates and choices (symptoms), a place and a
 * description (at most 24 and 70 characters: longer texts are cut and
 * marked so), the lead id and the MAC. Never an informant's name or phone,
 * the diners' contact phone, or anyone's name the form keeps apart: those
 * go by data only.
 *
 * The app's part:
 *
 *     fic_lead_sms_due_json(&due, store)          which leads should go now
 *     fic_lead_sms(&sms, store, id)               the parts and the number
 *     SmsManager.sendTextMessage(sms->recipient, null, sms->parts[i], …) for each part
 *     fic_lead_sms_sent(store, id)                once the parts went out
 *     … the county's confirmation arrives by SMS, or is pasted …
 *     fic_lead_sms_receipt(store, id, text)       the lead becomes delivered
 *
 * Each part is ASCII from GSM 03.38's basic alphabet, so a phone sends it as
 * one 7-bit SMS of at most 160 characters: send each part on its own
 * (sendTextMessage, not sendMultipartTextMessage); parts may arrive in any
 * order and more than once.
 *
 * Threading and durability: as for the store (store.h).
 */
#ifndef FIELDINSPECT_SMS_H
#define FIELDINSPECT_SMS_H

#include "common.h"
#include "store.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Most parts one lead's SMS has. */
#define FIC_SMS_PARTS_MAX 9
/** Most characters of one part (one GSM 7-bit SMS). */
#define FIC_SMS_PART_CHARS 160
/** Longest confirmation text fic_lead_sms_receipt() reads, in bytes. */
#define FIC_SMS_RECEIPT_MAX 320

/** A lead's SMS. One allocation: free it with fic_sms_free(). */
typedef struct fic_sms {
	const char *lead_id;
	const char *recipient; /**< the county's gateway (setting "sms_gateway_number") */
	int format;            /**< the SMS format version */
	size_t count;          /**< parts to send, 1..FIC_SMS_PARTS_MAX */
	const char *parts[FIC_SMS_PARTS_MAX]; /**< each NUL-terminated, ≤ FIC_SMS_PART_CHARS */
	size_t frame_bytes;    /**< bytes the parts carry, MAC included (for the curious) */
} fic_sms;

/**
 * The SMS of a submitted urgent lead not yet delivered (queued, or refused
 * by data). The same lead gives the same parts each time, so sending again
 * is harmless: the county keeps one lead.
 * @param out receives the message (NULL on failure); free with fic_sms_free().
 * @return FIC_OK; FIC_EINVAL (NULL, empty, too long or malformed id);
 *   FIC_ENOTFOUND; FIC_ESTATE (a draft, a lead that is not urgent or is
 *   delivered already, a device not enrolled or enrolled without an SMS
 *   key, no "sms_gateway_number" setting: the message says which);
 *   FIC_ETOOBIG (more than FIC_SMS_PARTS_MAX parts: cannot happen with the
 *   built-in forms); FIC_ENOMEM; a store error.
 */
FIC_EXTERN int fic_lead_sms(fic_sms **out, fic_store *store, const char *lead_id);

/** Free a message from fic_lead_sms(). Accepts NULL. */
FIC_EXTERN void fic_sms_free(fic_sms *sms);

/**
 * Record that the app sent the lead's SMS (every part): when, how many
 * parts, to which number; audited. Call it again for a resend. The lead's
 * JSON (fic_lead_get_json) then has "sms": {…}, and the lead is no longer
 * listed by fic_lead_sms_due_json().
 * @return as fic_lead_sms(), which it checks the lead with.
 */
FIC_EXTERN int fic_lead_sms_sent(fic_store *store, const char *lead_id);

/**
 * Take the county's confirmation of the lead's SMS — the text its gateway
 * sent back ("FI1 OK <lead id> <receipt> <time> <code>"), as received or
 * pasted (white space between the words is free). It must be for this lead
 * and verify with this device's SMS key: no one else can make a lead look
 * delivered. The lead becomes delivered with the county's receipt id and
 * time (in one transaction, audited); a lead delivered already stays as it
 * is (FIC_OK).
 * @return FIC_OK; FIC_EINVAL (NULL, empty or malformed text, a confirmation
 *   for another lead, or the county's refusal "FI1 ERR …", whose reason is in
 *   the message: send again or phone); FIC_ETOOBIG (longer than
 *   FIC_SMS_RECEIPT_MAX); FIC_EAUTH (the code does not verify: not from the
 *   county, or altered); FIC_ENOTFOUND; FIC_ESTATE (a draft, not urgent,
 *   not enrolled with an SMS key); a store error.
 */
FIC_EXTERN int fic_lead_sms_receipt(fic_store *store, const char *lead_id, const char *text);

/**
 * The urgent leads that should go by SMS now: submitted, not delivered,
 * not sent by SMS yet, and with the deadline (less the trusted clock's
 * uncertainty) within "sms_fallback_minutes" — or any time when the clock
 * has never been checked against the server. Most pressing first:
 *
 *     {"fallback_minutes": 60, "recipient": "10655000123" or null,
 *      "leads": [{"lead_id": "…", "title": "…", "remaining_ms": 2400000}, …]}
 *
 * With "sms_fallback_minutes" 0 the list is empty (SMS only when asked).
 * Free with fic_free(). Schema: schema/api/sms_due.schema.json.
 * @return FIC_OK; FIC_EINVAL (NULL); FIC_ENOMEM; a store error.
 */
FIC_EXTERN int fic_lead_sms_due_json(char **out, fic_store *store);

#ifdef __cplusplus
}
#endif

#endif
