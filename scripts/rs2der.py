#!/usr/bin/env python3
"""Converts a raw r||s ECDSA P-256 signature (64 bytes, as in the German-style signed list and
JOSE ES256) to the DER ECDSA-Sig-Value that `openssl dgst -verify` expects.

Usage: scripts/rs2der.py sig.raw > sig.der
"""
import sys


def integer(b: bytes) -> bytes:
    b = b.lstrip(b"\0") or b"\0"
    if b[0] & 0x80:
        b = b"\0" + b
    return bytes([2, len(b)]) + b


raw = open(sys.argv[1], "rb").read()
if len(raw) != 64:
    sys.exit("expected a 64-byte raw r||s signature")
body = integer(raw[:32]) + integer(raw[32:])
sys.stdout.buffer.write(bytes([0x30, len(body)]) + body)
