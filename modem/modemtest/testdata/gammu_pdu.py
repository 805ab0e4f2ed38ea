#!/usr/bin/python3
"""Encode SMS-DELIVER PDUs with python3-gammu (an independent encoder).

stdin: JSON list of {"udh": hex, "data": hex, "number": str, "text": str}
("data" gives 8-bit user data; "text" gives a GSM 7-bit message without UDH).
stdout: one hex PDU per line (SMSC address + TPDU, as a modem prints it).
"""
import datetime
import json
import sys

import gammu


def encode(spec):
    when = datetime.datetime(2026, 11, 21, 10, 0, 0)
    if "text" in spec:
        coding, udh, text = "Default_No_Compression", {"Type": "NoUDH", "Text": b""}, spec["text"]
    else:
        text = bytes.fromhex(spec["data"])
        coding, udh = "8bit", {"Type": "UserUDH", "Text": bytes.fromhex(spec["udh"])}
    sms = {
        "SMSC": {"Number": "+491710760000", "Location": 0},
        "Number": spec.get("number", "+491701234567"),
        "Coding": coding, "Class": -1, "Folder": 0, "Location": 0, "Memory": "SM",
        "InboxFolder": 0, "State": "UnRead", "Name": "", "ReplyViaSameSMSC": 0,
        "RejectDuplicates": 0, "MessageReference": 0, "ReplaceMessage": 0,
        "DeliveryStatus": 0, "Length": len(text), "UDH": udh, "Text": text,
        "DateTime": when, "SMSCDateTime": when, "Type": "Deliver",
    }
    return gammu.EncodePDU(sms, "Deliver").hex().upper()


for s in json.load(sys.stdin):
    print(encode(s))
