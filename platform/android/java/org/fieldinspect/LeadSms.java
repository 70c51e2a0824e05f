package org.fieldinspect;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * An urgent lead's SMS (fic_sms, sms.h): send each part on its own to
 * {@link #recipient} ({@code SmsManager.sendTextMessage}, not the multipart
 * call), then call {@link Store#smsSent}. Each part is GSM 03.38 basic
 * alphabet, at most 160 characters.
 */
public final class LeadSms {
    public final String leadId;
    /** The county's SMS gateway (setting "sms_gateway_number"). */
    public final String recipient;
    /** The SMS format version. */
    public final int format;
    /** Bytes the parts carry, MAC included. */
    public final long frameBytes;
    /** 1..9 parts. */
    public final List<String> parts;

    LeadSms(Rows r) {
        leadId = r.str();
        recipient = r.str();
        format = r.i32();
        frameBytes = r.num();
        int n = (int) r.num();
        List<String> p = new ArrayList<String>(n);
        for (int i = 0; i < n; i++) {
            p.add(r.str());
        }
        parts = Collections.unmodifiableList(p);
    }
}
