#!/usr/bin/env python3
"""A second, independent reading of the SMS format (docs/protocol.md, "SMS
fallback"), written from the documentation and the data files only, so that
the C codec and its description are checked against each other
(tests/tools/test_fic.sh runs it on what `fic lead sms` prints).

  sms_reference.py decode SCHEMA_SMS_DIR KEY_BASE64 PART...
        verify and decode a message; print the lead as JSON
  sms_reference.py receipt KEY_BASE64 LEAD_ID RECEIPT_ID RECEIVED_MS
        print the county's confirmation for a lead
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import zlib

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#%&()*+,-./:;<=>?"
FORMAT = 1
MAC_BYTES = 7      # of an SMS frame; a confirmation carries 8


def mac(key, context, data, n):
    return hmac.new(key, context + bytes([FORMAT]) + data, hashlib.sha512).digest()[:n]


def digits_to_bytes(digits):
    value = 0
    for c in digits:
        value = value * 80 + ALPHABET.index(c)
    # the byte count: the k whose shortest spelling has exactly len(digits) digits
    k = 0
    while 80 ** len(digits) >= 256 ** (k + 1):
        k += 1
    assert 80 ** (len(digits) - 1) < 256 ** k <= 80 ** len(digits), "not a frame length"
    assert value < 256 ** k, "number too large"
    return value.to_bytes(k, "big")


def join(parts):
    parts = [p.strip() for p in parts]
    if len(parts) == 1 and parts[0].startswith("FI%d" % FORMAT):
        return parts[0][3:]
    got = {}
    for p in parts:
        assert p.startswith("FP%d" % FORMAT), p[:7]
        got[int(p[3])] = (int(p[4]), p[5:7], p[7:])
    count = {v[0] for v in got.values()}.pop()
    assert sorted(got) == list(range(1, count + 1)), "a part is missing"
    return "".join(got[i][2] for i in range(1, count + 1))


class Reader:
    def __init__(self, b):
        self.b, self.at = b, 0

    def u8(self):
        self.at += 1
        return self.b[self.at - 1]

    def var(self):
        v, shift = 0, 0
        while True:
            c = self.u8()
            v |= (c & 0x7F) << shift
            shift += 7
            if not c & 0x80:
                return v

    def svar(self):
        v = self.var()
        return -(v >> 1) - 1 if v & 1 else v >> 1

    def raw(self, n):
        self.at += n
        return self.b[self.at - n:self.at]

    def text(self):
        return self.raw(self.var()).decode("utf-8")


def uuid(b):
    h = b.hex()
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def decode(schema_dir, key, parts):
    frame = digits_to_bytes(join(parts))
    body_end = len(frame) - MAC_BYTES
    assert hmac.compare_digest(mac(key, b"FIC-SMS", frame[:body_end], MAC_BYTES),
                               frame[body_end:]), "MAC"
    lead_id = frame[1:17]
    with open(os.path.join(schema_dir, "dict-v%d.txt" % FORMAT), "rb") as fh:
        d = zlib.decompressobj(-15, zdict=fh.read())
    body = d.decompress(frame[17:body_end]) + d.flush()
    assert d.eof and not d.unused_data, "not one deflate stream"
    with open(os.path.join(schema_dir, "codebook-v%d.json" % FORMAT), encoding="utf-8") as fh:
        book = json.load(fh)
    r = Reader(body)
    code = r.u8()
    cat = book["categories"][code - 1] if code else None
    out = {"lead_id": uuid(lead_id), "category": cat["category"] if cat else r.text()}
    flags = r.u8()
    t = r.var()
    base_ms = int.from_bytes(lead_id[:6], "big")
    out["time_flags"] = t & 7
    delta = t >> 3
    delta = -(delta >> 1) - 1 if delta & 1 else delta >> 1
    out["discovered_at_ms"] = base_ms + delta * 1000
    if flags & 2:
        out["site_id"] = uuid(r.raw(16))
    elif flags & 1:
        out["site_id"] = r.raw(r.var()).decode("ascii")
    if flags & 4:
        x = int.from_bytes(r.raw(7), "big")
        out["location"] = {"lat": (x >> 26) / 1e5 - 90, "lon": (x & (2 ** 26 - 1)) / 1e5 - 180}
    answers = {}
    if cat:
        present = r.var()
        base_day = base_ms // 86400000
        for i, it in enumerate(cat["items"]):
            if not present >> i & 1:
                continue
            ty = it["type"]
            if ty == "count":
                answers[it["id"]] = r.var()
            elif ty == "counts":
                answers[it["id"]] = [r.var() for _ in range(r.var())]
            elif ty == "date":
                import datetime
                day = base_day + r.svar()
                answers[it["id"]] = str(datetime.date(1970, 1, 1) + datetime.timedelta(days=day))
            elif ty == "multi":
                m = r.var()
                answers[it["id"]] = [c for j, c in enumerate(it["choices"]) if m >> j & 1]
            else:
                answers[it["id"]] = it["choices"][r.var()]
    out["answers"] = answers
    if flags & 8:
        out["place"] = r.text()
        out["place_truncated"] = bool(flags & 32)
    if flags & 16:
        out["description"] = r.text()
        out["description_truncated"] = bool(flags & 64)
    assert r.at == len(body), "bytes left over"
    return out


def receipt(key, lead_id, receipt_id, ms):
    lead = bytes.fromhex(lead_id.replace("-", ""))
    data = lead + bytes([len(receipt_id)]) + receipt_id.encode() + int(ms).to_bytes(8, "big")
    return "FI%d OK %s %s %d %s" % (FORMAT, lead_id, receipt_id, int(ms),
                                    mac(key, b"FIC-SMS-OK", data, 8).hex())


def main(argv):
    if len(argv) >= 5 and argv[1] == "decode":
        print(json.dumps(decode(argv[2], base64.b64decode(argv[3]), argv[4:]), ensure_ascii=False))
        return 0
    if len(argv) == 6 and argv[1] == "receipt":
        print(receipt(base64.b64decode(argv[2]), argv[3], argv[4], argv[5]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
