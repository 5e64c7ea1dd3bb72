#!/usr/bin/env python3
"""tests/pyclient/cluebus_client.py - a cluebus client in Python, written from docs/protocol.md.

It exists to prove that the document is enough: nothing here was taken from the C sources.
It publishes a signed clue, receives deliveries (checking each signature against the
registry file) and acknowledges them, over ZeroMQ DEALER + CURVE with one protobuf Frame
per single-part message.

    cluebus_client.py [common options] publish --summary TEXT [--category school]
                                               [--jurisdiction 210302]
        prints "accepted MSGID seq N" (0) or "rejected MSGID CODE: reason" (1)
    cluebus_client.py [common options] receive [--count N] [--timeout SECONDS]
        prints "message SEQ KIND MSGID from SENDER signature verified" per delivery and acks
        each after printing; exit 0 when COUNT came, 1 otherwise
    cluebus_client.py vectors --doc docs/protocol.md
        rebuilds the document's test vectors from their fixed inputs and compares (0: equal)
    cluebus_client.py [common options] checkpoint [--have-size N --old-root HEX] [--flood N]
                                                  [--prove SEQ]... [--no-hello]
        section 8a: one CheckpointRequest; checks the note's signature with the registry's
        broker key, the consistency proof from N (old root HEX) and every inclusion proof
        (RFC 9162, tests/merkle_crosscheck.py's verifiers), and prints one JSON line:
        {"size", "root", "old_size", "consistency", "inclusions", "verified"}; exit 0 when
        everything verified. --no-hello sends the request unauthenticated and prints the
        answer as cmd hello does.

Common options: --pb-dir DIR (where `protoc --python_out` put cluebus_pb2.py), --endpoint,
--unit, --key (Ed25519 PEM), --curve (CURVE secret, Z85), --registry (registry.json).
Needs Debian's python3-zmq, python3-protobuf and python3-cryptography.
"""
import argparse
import base64
import hashlib
import json
import os
import re
import struct
import sys
import time

import zmq
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                               Ed25519PublicKey)

pb = None  # cluebus_pb2, imported once --pb-dir is known

PROTOCOL = 1
HELLO_TAG = b"cluebus-hello-v1\x00"
HEARTBEAT_S = 1.0
RESEND_S = 5.0


def key_id(public_raw):
    """docs/protocol.md section 1: the first 8 bytes of SHA-256 over the raw public key."""
    return hashlib.sha256(public_raw).digest()[:8]


def public_raw(key):
    return key.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw)


def hello_signed_bytes(unit, time_ms, nonce):
    """Section 4: tag NUL, unit NUL, be64(time_ms), nonce."""
    return HELLO_TAG + unit.encode() + b"\x00" + struct.pack(">q", time_ms) + nonce


def hello_frame(unit, key, time_ms, nonce, publish_only=False, protocol=PROTOCOL):
    hello = pb.Hello(unit=unit, key_id=key_id(public_raw(key)), time_ms=time_ms, nonce=nonce,
                     signature=key.sign(hello_signed_bytes(unit, time_ms, nonce)),
                     protocol=protocol, publish_only=publish_only)
    return pb.Frame(hello=hello)


def signed_envelope(message, key):
    """Section 6: serialize once, sign exactly those bytes, carry them unchanged."""
    signed = message.SerializeToString()
    return pb.Envelope(signed=signed, signature=key.sign(signed), sender=message.sender,
                       key_id=message.key_id)


def clue_message(unit, key, message_id, created_ms, summary, category, jurisdiction,
                 occurred_ms, location):
    return pb.Message(
        message_id=message_id, sender=unit, key_id=key_id(public_raw(key)),
        created_ms=created_ms, kind=pb.KIND_CLUE, priority=pb.PRIORITY_ROUTINE,
        clue=pb.Clue(category=category, jurisdiction=jurisdiction, occurred_ms=occurred_ms,
                     location=location, summary=summary, handling=pb.HANDLING_H0,
                     source_reliability=pb.RELIABILITY_B, info_accuracy=2))


def now_ms():
    return int(time.time() * 1000)


class Client:
    """One DEALER connection to the broker, after a Welcome."""

    def __init__(self, endpoint, unit, key, curve_secret, broker_public, publish_only=False):
        self.unit, self.key = unit, key
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.IMMEDIATE, 1)
        self.sock.curve_serverkey = broker_public
        self.sock.curve_secretkey = curve_secret
        self.sock.curve_publickey = zmq.curve_public(curve_secret)
        self.sock.connect(endpoint)
        self.last_hb = 0.0
        self.welcome = self._hello(publish_only)

    def close(self):
        self.sock.close(0)
        self.ctx.term()

    def send(self, frame):
        self.sock.send(frame.SerializeToString())  # one frame, one single-part message

    def recv(self, timeout_s):
        """The next frame within timeout_s, or None; heartbeats are sent meanwhile."""
        deadline = time.monotonic() + timeout_s
        while True:
            now = time.monotonic()
            if getattr(self, "welcome", None) is not None and now - self.last_hb >= HEARTBEAT_S:
                self.send(pb.Frame(heartbeat=pb.Heartbeat(time_ms=now_ms())))
                self.last_hb = now
            left = deadline - now
            if left <= 0:
                return None
            if self.sock.poll(int(min(left, HEARTBEAT_S) * 1000) + 1, zmq.POLLIN):
                parts = self.sock.recv_multipart()
                if len(parts) != 1:
                    continue
                frame = pb.Frame()
                frame.ParseFromString(parts[0])
                return frame

    def _hello(self, publish_only):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            self.send(hello_frame(self.unit, self.key, now_ms(), os.urandom(16), publish_only))
            frame = self.recv(RESEND_S)
            if frame is None:
                continue
            which = frame.WhichOneof("frame")
            if which == "welcome":
                return frame.welcome
            if which == "rejected" and frame.rejected.hello:
                raise RuntimeError("hello refused: %s: %s" % (
                    pb.RejectCode.Name(frame.rejected.code), frame.rejected.reason))
        raise RuntimeError("no welcome from the broker")

    def publish(self, message, timeout_s=60):
        frame = pb.Frame(publish=pb.Publish(envelope=signed_envelope(message, self.key),
                                            message_id=message.message_id))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.send(frame)  # resent with the same bytes until answered (section 7)
            sent = time.monotonic()
            while time.monotonic() - sent < RESEND_S:
                reply = self.recv(RESEND_S - (time.monotonic() - sent))
                if reply is None:
                    break
                which = reply.WhichOneof("frame")
                if which in ("accepted", "rejected") and \
                        getattr(reply, which).message_id == message.message_id:
                    return reply
        raise RuntimeError("no answer to the publish")


def load_registry(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    keys = {}
    for unit in doc.get("units", []):
        if "sign_public" in unit:
            raw = bytes.fromhex(unit["sign_public"])
            keys[(unit["id"], key_id(raw))] = Ed25519PublicKey.from_public_bytes(raw)
    return doc["broker"]["transport_public"].encode(), keys


def verify_delivery(deliver, keys):
    """Section 8: the sender's key by the envelope's hints, the signature over `signed`, then
    the signed header equal to the hints."""
    env = deliver.envelope
    pub = keys.get((env.sender, env.key_id))
    if pub is None:
        return None, "unchecked"
    try:
        pub.verify(env.signature, env.signed)
    except Exception:  # cryptography raises InvalidSignature
        return None, "bad"
    message = pb.Message()
    message.ParseFromString(env.signed)
    if message.sender != env.sender or message.key_id != env.key_id:
        return None, "bad"
    return message, "verified"


def load_unit(args):
    with open(args.key, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SystemExit("%s: not an Ed25519 private key" % args.key)
    with open(args.curve, "rb") as f:
        curve = f.read().strip()
    if len(curve) != 40:
        raise SystemExit("%s: not a Z85 CURVE key" % args.curve)
    broker_public, keys = load_registry(args.registry)
    return key, curve, broker_public, keys


def cmd_publish(args):
    key, curve, broker_public, _ = load_unit(args)
    client = Client(args.endpoint, args.unit, key, curve, broker_public, publish_only=True)
    try:
        message_id = os.urandom(16)
        message = clue_message(args.unit, key, message_id, now_ms(), args.summary,
                               pb.Category.Value("CATEGORY_" + args.category.upper()),
                               args.jurisdiction, now_ms() - 3600 * 1000, "鞍山市铁东区")
        reply = client.publish(message)
        if reply.WhichOneof("frame") == "accepted":
            print("accepted %s seq %d" % (message_id.hex(), reply.accepted.seq))
            return 0
        print("rejected %s %s: %s" % (message_id.hex(), pb.RejectCode.Name(reply.rejected.code),
                                      reply.rejected.reason))
        return 1
    finally:
        client.close()


def cmd_receive(args):
    key, curve, broker_public, keys = load_unit(args)
    client = Client(args.endpoint, args.unit, key, curve, broker_public)
    handled = 0
    acked = 0
    try:
        deadline = time.monotonic() + args.timeout
        while handled < args.count and time.monotonic() < deadline:
            frame = client.recv(deadline - time.monotonic())
            if frame is None or frame.WhichOneof("frame") != "deliver":
                continue
            d = frame.deliver
            if d.seq <= acked:  # a redelivery: acknowledge again
                client.send(pb.Frame(ack=pb.Ack(upto_seq=acked)))
                continue
            message, check = verify_delivery(d, keys)
            if message is None:
                print("delivery %d: signature %s; not acknowledged" % (d.seq, check),
                      file=sys.stderr)
                continue
            kind = pb.Kind.Name(message.kind)[len("KIND_"):].lower()
            print("message %d %s %s from %s signature %s" % (
                d.seq, kind, message.message_id.hex(), message.sender, check), flush=True)
            client.send(pb.Frame(ack=pb.Ack(upto_seq=d.seq)))  # after it is kept
            acked = d.seq
            handled += 1
        client.recv(0.3)  # let the last ack leave before closing
    finally:
        client.close()
    return 0 if handled == args.count else 1


def cmd_hello(args):
    """One Hello with the given protocol and nonce length; prints the broker's answer:
    "welcome" or "rejected CODE FIELD" (section 4's table)."""
    key, curve, broker_public, _ = load_unit(args)
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.curve_serverkey = broker_public
    sock.curve_secretkey = curve
    sock.curve_publickey = zmq.curve_public(curve)
    sock.connect(args.endpoint)
    try:
        sock.send(hello_frame(args.unit, key, now_ms(), os.urandom(args.nonce_len),
                              protocol=args.protocol).SerializeToString())
        if not sock.poll(10000, zmq.POLLIN):
            print("no answer")
            return 1
        frame = pb.Frame()
        frame.ParseFromString(sock.recv())
        which = frame.WhichOneof("frame")
        if which == "welcome":
            print("welcome")
        elif which == "rejected":
            r = frame.rejected
            print("rejected %s %s hello=%s: %s" % (pb.RejectCode.Name(r.code), r.field or "-",
                                                   r.hello, r.reason))
        else:
            print("unexpected %s" % which)
        return 0
    finally:
        sock.close(0)
        ctx.term()


def note_verify(note, broker_pub_raw):
    """Section 8a / docs/audit.md 7.3: the note's text, size and root, its signature by the
    broker's key under the note's origin. Returns (size, root) or raises ValueError."""
    text, _, sigs = note.partition("\n\n")
    text += "\n"
    lines = text.split("\n")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
    khash = hashlib.sha256(origin.encode() + b"\n\x01" + broker_pub_raw).digest()[:4]
    pub = Ed25519PublicKey.from_public_bytes(broker_pub_raw)
    for line in sigs.splitlines():
        dash, name, b64 = line.split(" ")
        raw = base64.b64decode(b64, validate=True)
        if dash == "\u2014" and name == origin and raw[:4] == khash:
            pub.verify(raw[4:], text.encode())  # raises InvalidSignature
            return size, root
    raise ValueError("no signature by the broker's key")


def checkpoint_flood(client, request, n):
    """Sends `n` requests at once and counts the checkpoints answered within 3 s."""
    for _ in range(n):
        client.send(request)
    answered, deadline = 0, time.monotonic() + 3
    while True:
        frame = client.recv(deadline - time.monotonic())
        if frame is None:
            break
        answered += frame.WhichOneof("frame") == "checkpoint"
    print(json.dumps({"asked": n, "answered": answered}))
    return 0


def cmd_checkpoint(args):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import merkle_crosscheck as rfc  # pylint: disable=import-outside-toplevel
    with open(args.registry, encoding="utf-8") as f:
        broker_pub = bytes.fromhex(json.load(f)["broker"]["sign_public"])
    request = pb.Frame(checkpoint_request=pb.CheckpointRequest(have_size=args.have_size,
                                                               prove_seqs=args.prove))
    if args.no_hello:
        key, curve, broker_public, _ = load_unit(args)
        ctx = zmq.Context()
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.curve_serverkey = broker_public
        sock.curve_secretkey = curve
        sock.curve_publickey = zmq.curve_public(curve)
        sock.connect(args.endpoint)
        try:
            sock.send(request.SerializeToString())
            if not sock.poll(10000, zmq.POLLIN):
                print("no answer")
                return 1
            frame = pb.Frame()
            frame.ParseFromString(sock.recv())
            r = frame.rejected
            print("%s %s" % (frame.WhichOneof("frame"), pb.RejectCode.Name(r.code)))
            return 0
        finally:
            sock.close(0)
            ctx.term()
    key, curve, broker_public, _ = load_unit(args)
    client = Client(args.endpoint, args.unit, key, curve, broker_public, publish_only=True)
    if args.flood:
        try:
            return checkpoint_flood(client, request, args.flood)
        finally:
            client.close()
    try:
        client.send(request)
        deadline = time.monotonic() + 30
        while True:
            frame = client.recv(deadline - time.monotonic())
            if frame is None:
                print("no checkpoint within 30 s")
                return 1
            if frame.WhichOneof("frame") == "checkpoint":
                break
        n = frame.checkpoint
        out = {"old_size": n.old_size, "consistency": len(n.consistency),
               "inclusions": [i.seq for i in n.inclusions], "verified": False}
        size, root = note_verify(n.note, broker_pub)
        out.update(size=size, root=root.hex())
        ok = True
        if args.old_root and 0 < args.have_size <= size:
            ok = n.old_size == args.have_size and rfc.verify_consistency(
                args.have_size, size, list(n.consistency), bytes.fromhex(args.old_root), root)
        for i in n.inclusions:
            ok = ok and 1 <= i.seq <= size and rfc.verify_inclusion(
                i.seq - 1, size, rfc.h_leaf(i.entry), list(i.hashes), root)
            entry = pb.LogEntry()
            entry.ParseFromString(i.entry)
            ok = ok and entry.seq == i.seq
        out["verified"] = ok
        print(json.dumps(out, sort_keys=True))
        return 0 if ok else 1
    finally:
        client.close()


def doc_hex(doc, section, label):
    """The hex block under `label` in section `section` of the document's vectors."""
    part = doc.split("### " + section, 1)[1]
    block = part.split(label, 1)[1].split("\n\n", 2)[1]
    return bytes.fromhex("".join(line.strip() for line in block.splitlines()))


def cmd_vectors(args):
    with open(args.doc, encoding="utf-8") as f:
        doc = f.read()
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    failures = []

    def same(what, got, want):
        if got != want:
            failures.append("%s: got %s, the document says %s" % (what, got.hex(), want.hex()))

    same("public key", public_raw(key), doc_hex(doc, "Keys", "Public key, raw"))
    same("key id", key_id(public_raw(key)), doc_hex(doc, "Keys", "Key id"))
    time_ms, nonce = 1780000000000, bytes(range(0xa0, 0xb0))
    same("hello signed bytes", hello_signed_bytes("health", time_ms, nonce),
         doc_hex(doc, "Hello", "Signed bytes"))
    same("hello frame", hello_frame("health", key, time_ms, nonce).SerializeToString(),
         doc_hex(doc, "Hello", "Frame"))
    message = clue_message("health", key, bytes(range(0x10, 0x20)), 1780000001000,
                           "test vector", pb.CATEGORY_SCHOOL, "210302", 1779900000000,
                           "鞍山市铁东区")
    env = signed_envelope(message, key)
    same("publish message", env.signed, doc_hex(doc, "Publish", "Message"))
    same("publish frame", pb.Frame(publish=pb.Publish(
        envelope=env, message_id=message.message_id)).SerializeToString(),
         doc_hex(doc, "Publish", "Frame"))
    same("ack frame", pb.Frame(ack=pb.Ack(upto_seq=42)).SerializeToString(),
         doc_hex(doc, "Ack and Heartbeat", "Ack, upto_seq 42"))
    for line in failures:
        print(line, file=sys.stderr)
    if not failures:
        print("vectors: all equal")
    return 1 if failures else 0


def main():
    global pb
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pb-dir", required=True)
    for opt in ("--endpoint", "--unit", "--key", "--curve", "--registry"):
        ap.add_argument(opt)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("publish")
    p.add_argument("--summary", required=True)
    p.add_argument("--category", default="school")
    p.add_argument("--jurisdiction", default="210302")
    r = sub.add_parser("receive")
    r.add_argument("--count", type=int, default=1)
    r.add_argument("--timeout", type=float, default=60)
    v = sub.add_parser("vectors")
    v.add_argument("--doc", required=True)
    c = sub.add_parser("checkpoint")
    c.add_argument("--have-size", type=int, default=0)
    c.add_argument("--old-root", default="")
    c.add_argument("--prove", type=int, action="append", default=[])
    c.add_argument("--no-hello", action="store_true")
    c.add_argument("--flood", type=int, default=0)
    h = sub.add_parser("hello")
    h.add_argument("--protocol", type=int, default=PROTOCOL)
    h.add_argument("--nonce-len", type=int, default=16)
    args = ap.parse_args()
    sys.path.insert(0, args.pb_dir)
    import cluebus_pb2  # pylint: disable=import-outside-toplevel
    pb = cluebus_pb2
    if args.cmd == "vectors":
        return cmd_vectors(args)
    if not all((args.endpoint, args.unit, args.key, args.curve, args.registry)):
        ap.error("publish and receive need --endpoint, --unit, --key, --curve, --registry")
    return {"publish": cmd_publish, "receive": cmd_receive, "hello": cmd_hello,
            "checkpoint": cmd_checkpoint}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
