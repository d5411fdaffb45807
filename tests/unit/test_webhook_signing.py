"""Webhook signatures: fixed vectors (computed with `openssl dgst -sha256 -hmac`, not with our code),
and what a receiver's check must refuse."""

from vocloop.outbound.signing import signature_header, verify

SECRET = "whsec_test_vector"
BODY = b'{"id":"evt_1","type":"item.closed"}'
# printf '1700000000.%s' "$BODY" | openssl dgst -sha256 -hmac whsec_test_vector
VECTOR = "81ad618b7aa8225ec63e3e95f49f6db02b8a1cf52a72c926dbef96e5bfc48c0b"


def test_the_header_matches_the_openssl_vector():
    assert signature_header(SECRET, BODY, timestamp=1700000000) == f"t=1700000000,v1={VECTOR}"


def test_a_receiver_accepts_a_fresh_signature_and_refuses_anything_changed():
    header = f"t=1700000000,v1={VECTOR}"
    assert verify(SECRET, header, BODY, now=1700000000 + 60)
    assert not verify(SECRET, header, BODY + b" ", now=1700000000)  # body changed
    assert not verify("whsec_other", header, BODY, now=1700000000)  # another secret
    assert not verify(SECRET, header.replace("t=1700000000", "t=1700000001"), BODY, now=1700000000)
    assert not verify(SECRET, header, BODY, now=1700000000 + 301)  # too old: a replayed capture
    assert not verify(SECRET, header, BODY, now=1700000000 - 301)  # from the future
    for broken in ("", "v1=" + VECTOR, "t=abc,v1=" + VECTOR, "t=1700000000", "t=1,t=1700000000,v1=" + VECTOR):
        assert not verify(SECRET, broken, BODY, now=1700000000), broken


def test_during_a_secret_rotation_either_signature_is_accepted():
    header = f"t=1700000000,v1={'0' * 64},v1={VECTOR}"
    assert verify(SECRET, header, BODY, now=1700000000)
