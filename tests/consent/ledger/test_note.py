"""C2SP signed notes with Ed25519 keys: Go's published vectors, then round trips and refusals."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from consent.ledger.note import (
    MAX_SIGNATURES,
    NoteError,
    Signer,
    UnverifiedNoteError,
    Verifier,
    key_id,
    open_note,
    sign,
)

# golang.org/x/mod, sumdb/note/note_test.go (github.com/golang/mod): keys, text and signatures.
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6"
    "KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33W"
    "Wd1RvMc+QQ=\n"
)

# github.com/transparency-dev/formats, log/note_test.go: four more key pairs made by Go.
GO_KEY_PAIRS = [
    (
        "Log+2271c621+AemuH5ooBpEPcr+W8onrjA1NfuzBVHdezakU81Ekarvs",
        "PRIVATE+KEY+Log+2271c621+AdEIq9FLRQni54Wg68T96VJO+iayOaulswav2DUMKgvQ",
    ),
    (
        "Known+451c786d+AXAQ0T7lbwuY4ABJ9/MYY9bWV3hmSyOGVt2x42NkmdUH",
        "PRIVATE+KEY+Known+451c786d+AQPRoE2+Z+Ed1HaHBA9F/FfracvcZ2rDU39kCecMEoci",
    ),
    (
        "KnownAgain+4893b26c+AQ+LR7BFF/F/dkpIBjBpSvT0crkteizuUkavAoGeaYMj",
        "PRIVATE+KEY+KnownAgain+4893b26c+ARhZda/l25zjGZswYLDZsLNRzNpmv5wYTN9IoTr1OJ2+",
    ),
    (
        "Unknown+fdbb2e08+AWgRIYZ+8x1Vl+1Q+sR8zciNHiYI1SdlBjNw+RV0rots",
        "PRIVATE+KEY+Unknown+fdbb2e08+Aav2knTC6orbhXX8pMWuNiWgO+Wwk2DB+h1eU2Q1W1nU",
    ),
]

# github.com/C2SP/C2SP, signed-note.md: the example note (its public key is not published).
QUASIMODO = (
    "Ognuno sta solo sul cuor della terra\n"
    "trafitto da un raggio di sole:\n"
    "\n"
    "ed è subito sera.\n"
    "\n"
    "— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU"
    "0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
)

PETER = Verifier.parse(PETER_VKEY)
ENOCH = Verifier.parse(ENOCH_VKEY)


def test_go_key_strings_parse_and_format_back() -> None:
    signer = Signer.parse(PETER_SKEY)
    assert (signer.name, signer.key_id) == ("PeterNeumann", 0xC74F20A3)
    assert signer.verifier == PETER
    assert PETER.to_string() == PETER_VKEY and signer.to_string() == PETER_SKEY
    assert key_id("PeterNeumann", PETER.public_key) == 0xC74F20A3
    assert ENOCH.key_id == 0xAF0CFE78
    for vkey, skey in GO_KEY_PAIRS:
        assert Signer.parse(skey).verifier.to_string() == vkey
        assert Verifier.parse(vkey).to_string() == vkey


def test_sign_reproduces_go_signed_note() -> None:
    assert sign(TEXT, Signer.parse(PETER_SKEY)) == TEXT + "\n" + PETER_SIG


def test_open_go_notes() -> None:
    both = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    opened = open_note(both, [PETER])
    assert opened.text == TEXT
    assert [(s.name, s.key_id) for s in opened.signatures] == [("PeterNeumann", 0xC74F20A3)]
    text, signatures = open_note(both.encode(), [PETER, ENOCH])
    assert text == TEXT and [s.name for s in signatures] == ["PeterNeumann", "EnochRoot"]
    # Duplicated signatures count once; an identical verifier listed twice is no ambiguity.
    twice = TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG
    assert len(open_note(twice, [ENOCH, PETER, ENOCH]).signatures) == 2


def test_open_refuses_a_note_without_a_known_verified_signature() -> None:
    with pytest.raises(UnverifiedNoteError, match="no verifiable signatures") as caught:
        open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [])
    assert [s.name for s in caught.value.unverified] == ["PeterNeumann", "EnochRoot"]


def test_open_refuses_go_malformed_notes() -> None:
    bad = [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        b"\xff" + (TEXT + "\n" + PETER_SIG).encode(),
        TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Bad Name")[:-1],
        TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Bad Name"),
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG.replace("x08go", "x08g!"),  # bad base64
        TEXT + "\n" + PETER_SIG.replace("\u2014", "-"),  # not an em dash
        TEXT + "\n" + "— PeterNeumann AAAAAA==\n",  # too short to hold a key ID and signature
    ]
    for note in bad:
        with pytest.raises(NoteError) as caught:
            open_note(note, [PETER])
        assert not isinstance(caught.value, UnverifiedNoteError), note


def test_open_refuses_too_many_signatures() -> None:
    crowded = TEXT + "\n" + PETER_SIG * (MAX_SIGNATURES + 1)
    for known in ([PETER], []):
        with pytest.raises(NoteError, match="too many signatures"):
            open_note(crowded, known)
    assert open_note(TEXT + "\n" + PETER_SIG * MAX_SIGNATURES, [PETER]).text == TEXT


def test_open_refuses_an_invalid_signature_by_a_known_key() -> None:
    corrupt = TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(NoteError, match="invalid signature for key PeterNeumann\\+c74f20a3"):
        open_note(corrupt, [PETER])
    # Even next to a good signature by another known key.
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(TEXT + "\n" + ENOCH_SIG + corrupt[len(TEXT) + 1 :], [PETER, ENOCH])


def test_tampered_text_is_refused() -> None:
    tampered = TEXT.replace("problem,", "problem;") + "\n" + PETER_SIG
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(tampered, [PETER])


def test_a_wrong_key_id_makes_the_signature_unknown() -> None:
    wrong_id = PETER_SIG.replace("x08g", "xxxx")  # the first bytes of the blob are the key ID
    with pytest.raises(UnverifiedNoteError):
        open_note(TEXT + "\n" + wrong_id, [PETER])
    # Same name, other key (so other key ID): ignored, as the spec requires.
    impostor = Signer.generate("PeterNeumann")
    forged = sign(TEXT, impostor)
    with pytest.raises(UnverifiedNoteError):
        open_note(forged, [PETER])


def test_c2sp_example_note_splits_at_the_last_empty_line() -> None:
    with pytest.raises(UnverifiedNoteError) as caught:
        open_note(QUASIMODO, [PETER])
    assert caught.value.text == QUASIMODO[: QUASIMODO.index("sera.\n") + 6]
    (sig,) = caught.value.unverified
    assert sig.name == "quasimodo.example/salvatore" and len(sig.signature) == 64


def test_round_trip_with_several_signers() -> None:
    log, witness = Signer.generate("example.org/consent-log"), Signer.generate("witness.example")
    text = "Ein Text mit Umlauten: äöü\n\nund einer Leerzeile.\n"
    note = sign(text, log, witness)
    assert open_note(note, [log.verifier]).text == text
    opened = open_note(note, [witness.verifier, log.verifier])
    assert [s.name for s in opened.signatures] == [log.name, witness.name]
    assert all(len(s.signature) == 64 for s in opened.signatures)
    with pytest.raises(UnverifiedNoteError):
        open_note(note, [Signer.generate("stranger").verifier])
    assert Signer.parse(log.to_string()) == log
    assert log.seed.hex() not in repr(log) and "PRIVATE" not in repr(log)


def test_sign_refuses_texts_the_format_cannot_carry() -> None:
    signer = Signer.parse(PETER_SKEY)
    for text in ("abc", "", "tab\there\n", "cr\r\n", "surrogate \udc80\n"):
        with pytest.raises(NoteError):
            sign(text, signer)
    with pytest.raises(NoteError):
        sign(TEXT)
    with pytest.raises(NoteError, match="same key twice"):
        sign(TEXT, signer, signer)


def test_key_names_are_validated() -> None:
    for name in ("", "a+b", "a b", "tab\tname", "nbsp\u00a0name", "ctl\x01"):
        with pytest.raises(NoteError):
            Signer.generate(name)
    with pytest.raises(NoteError):
        Verifier("ok", b"\x00" * 31)
    with pytest.raises(NoteError):
        Signer("ok", b"\x00" * 31)


def test_go_mangled_key_strings_are_refused() -> None:
    def refused(parse: Callable[[str], object], key: str) -> bool:
        try:
            parse(key)
        except NoteError:
            return True
        return False

    for parse, key in ((Verifier.parse, PETER_VKEY), (Signer.parse, PETER_SKEY)):
        for i in range(len(key) + 1):
            for j in range(i + 1, len(key) + 1):
                if (i, j) != (0, len(key)):
                    assert refused(parse, key[i:j]), key[i:j]
        for i in range(len(key)):
            mangled = key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :]
            assert refused(parse, mangled), mangled
    # note_test.go: a key of the wrong length and an unknown algorithm, key IDs adjusted.
    assert refused(
        Verifier.parse,
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
    )
    assert refused(
        Verifier.parse, "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    )


def test_non_canonical_base64_is_refused() -> None:
    blob = base64.b64decode(PETER_SIG.split()[2])
    encoded = base64.b64encode(blob).decode()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = encoded.rstrip("=")[-1]
    sloppy = encoded.rstrip("=")[:-1] + alphabet[alphabet.index(last) ^ 1] + "="
    assert base64.b64decode(sloppy) == blob  # same bytes, other spelling
    with pytest.raises(NoteError, match="malformed"):
        open_note(TEXT + "\n— PeterNeumann " + sloppy + "\n", [PETER])
