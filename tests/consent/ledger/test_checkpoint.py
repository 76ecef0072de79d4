"""C2SP tlog checkpoints: real checkpoints and Go's golden text, then refusals and a whole log."""

from __future__ import annotations

import base64

import pytest

from consent.ledger.checkpoint import MAX_SIZE, Checkpoint, CheckpointError, open_checkpoint
from consent.ledger.merkle import MemoryTree, inclusion_proof, leaf_hash, verify_inclusion
from consent.ledger.note import NoteError, Signer, UnverifiedNoteError, Verifier, sign

# golang.org/x/mod, sumdb/tlog/note_test.go (TestFormatTree, TestParseTree): the go.sum tree
# text of size 123456789012 whose hash is RecordHash("hello world") = SHA-256(0x00 || data).
GO_TREE = "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n"

# github.com/transparency-dev/formats, log/note_test.go (TestSumDBNoteParsing): a checkpoint
# signed by sum.golang.org, with that log's published verifier key (also in Go's cmd/go).
SUMDB_KEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_NOTE = (
    "go.sum database tree\n"
    "6476701\n"
    "mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n"
    "\n"
    "— sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWE"
    "PWL+o3GeoWwOoAw=\n"
)

# github.com/C2SP/C2SP, tlog-checkpoint.md: the example checkpoint (its key is not published).
C2SP_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
C2SP_NOTE = (
    C2SP_BODY
    + "\n— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URY"
    "N7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)

ROOT = leaf_hash(b"hello world")


def test_go_tree_text_formats_and_parses() -> None:
    checkpoint = Checkpoint("go.sum database tree", 123456789012, ROOT)
    assert checkpoint.to_text() == GO_TREE
    assert Checkpoint.parse(GO_TREE) == checkpoint
    # ParseTree's bad trees; its trailing "junk" is, in this format, extension lines.
    for bad in (
        "go.sum database tree\n0xabcdef\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
        "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n",
        GO_TREE + "JOE",
    ):
        with pytest.raises(CheckpointError):
            Checkpoint.parse(bad)
    assert Checkpoint.parse(GO_TREE + "JOE\n").extensions == ("JOE",)


def test_real_sum_golang_org_checkpoint_verifies() -> None:
    key = Verifier.parse(SUMDB_KEY)
    checkpoint = open_checkpoint(SUMDB_NOTE, [key], origin="go.sum database tree")
    assert (checkpoint.origin, checkpoint.size) == ("go.sum database tree", 6476701)
    assert checkpoint.root_hash == base64.b64decode("mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=")
    assert checkpoint.to_text() == SUMDB_NOTE[: SUMDB_NOTE.index("\n\n") + 1]
    with pytest.raises(CheckpointError, match="not of"):
        open_checkpoint(SUMDB_NOTE, [key], origin="Go rocks but I might have the wrong ID")
    with pytest.raises(NoteError, match="invalid signature"):
        open_checkpoint(SUMDB_NOTE.replace("6476701", "6476702"), [key])


def test_c2sp_example_checkpoint() -> None:
    checkpoint = Checkpoint.parse(C2SP_BODY)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert len(checkpoint.root_hash) == 32 and checkpoint.extensions == ()
    assert checkpoint.to_text() == C2SP_BODY
    with pytest.raises(UnverifiedNoteError) as caught:
        open_checkpoint(C2SP_NOTE, [Verifier.parse(SUMDB_KEY)])
    assert caught.value.text == C2SP_BODY
    assert caught.value.unverified[0].name == "example.com/behind-the-sofa"


HASH64 = base64.b64encode(ROOT).decode()
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
SLOPPY64 = HASH64[:-2] + _ALPHABET[_ALPHABET.index(HASH64[-2]) ^ 1] + "="  # unused bits set
URLSAFE64 = base64.urlsafe_b64encode(bytes([0xFF] * 32)).decode()


@pytest.mark.parametrize(
    "text",
    [
        "Head\n9944\n",  # transparency-dev/formats log/checkpoint_test.go: too few lines
        f"\n9944\n{HASH64}\n",  # ... empty origin
        f"Log\n123\n{HASH64}",  # ... missing final newline
        f"Log\nbananas\n{HASH64}\n",  # ... size not a number
        f"Log\n-34\n{HASH64}\n",  # ... negative size
        f"Log\n3438945738945739845734895735\n{HASH64}\n",  # ... size too large
        "Log\n123\nThisIsn'tBase64\n",  # ... root hash not base64
        "Log\n123\nYmFuYW5hcw==\n",  # ... their 7-byte "bananas" hash: not a SHA-256 root
        f"Log\n9944\n{HASH64}\n\n\n\n",  # ... trailing empty lines: empty extension lines
        f"Log\n0123\n{HASH64}\n",  # leading zero
        f"Log\n00\n{HASH64}\n",
        f"Log\n+123\n{HASH64}\n",
        f"Log\n1_000\n{HASH64}\n",
        f"Log\n١٢٣\n{HASH64}\n",  # Arabic-Indic digits are digits to Python, not to the format
        f"Log\n 123\n{HASH64}\n",
        f"Log\n123\n{SLOPPY64}\n",  # the same bytes, non-canonical base64
        f"Log\n123\n{HASH64.rstrip('=')}\n",  # unpadded
        f"Log\n123\n{base64.b64encode(ROOT[:31]).decode()}\n",  # 31 bytes
        f"Log\n123\n{URLSAFE64}\n",  # URL alphabet
        f"Log\r\n123\n{HASH64}\n",  # control character
        "",
    ],
)
def test_parse_refuses_malformed_checkpoints(text: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.parse(text)


def test_sizes_and_extensions() -> None:
    assert base64.b64decode(SLOPPY64) == ROOT
    assert Checkpoint.parse(f"Log\n0\n{HASH64}\n").size == 0
    assert Checkpoint.parse(f"Log\n{MAX_SIZE}\n{HASH64}\n").size == MAX_SIZE
    with pytest.raises(CheckpointError):
        Checkpoint.parse(f"Log\n{MAX_SIZE + 1}\n{HASH64}\n")
    # transparency-dev/formats log/checkpoint_test.go TestExtendCheckpoint's extension lines.
    extended = Checkpoint("Moon Log", 4027504, ROOT, ["6086d1a9", "Waxing gibbous"])
    assert extended.extensions == ("6086d1a9", "Waxing gibbous")
    assert Checkpoint.parse(extended.to_text()) == extended
    assert extended.to_text().endswith("\n6086d1a9\nWaxing gibbous\n")


def test_constructor_refuses_what_to_text_could_not_write() -> None:
    for args in (
        ("", 1, ROOT),
        ("two\nlines", 1, ROOT),
        ("Log", -1, ROOT),
        ("Log", MAX_SIZE + 1, ROOT),
        ("Log", True, ROOT),
        ("Log", "1", ROOT),
        ("Log", 1, ROOT[:31]),
        ("Log", 1, ROOT, ("",)),
        ("Log", 1, ROOT, ("a\nb",)),
    ):
        with pytest.raises(CheckpointError):
            Checkpoint(*args)


def test_a_signed_checkpoint_proves_an_entry_of_a_consent_log() -> None:
    entries = [f"consent {i}: granted".encode() for i in range(13)]
    tree = MemoryTree(leaf_hash(e) for e in entries)
    log = Signer.generate("digione.example/consent-log")
    signed = sign(Checkpoint("digione.example/consent-log", 13, tree.root()).to_text(), log)

    checkpoint = open_checkpoint(signed, [log.verifier], origin="digione.example/consent-log")
    proof = inclusion_proof(5, checkpoint.size, tree.get)
    assert verify_inclusion(5, checkpoint.size, leaf_hash(entries[5]), proof, checkpoint.root_hash)
    forged = leaf_hash(b"consent 5: withdrawn")
    assert not verify_inclusion(5, checkpoint.size, forged, proof, checkpoint.root_hash)
    with pytest.raises(UnverifiedNoteError):
        open_checkpoint(signed, [Signer.generate("digione.example/consent-log").verifier])
