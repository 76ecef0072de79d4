"""RFC 9162 section 2.1 Merkle tree: published vectors, then properties over many tree sizes."""

from __future__ import annotations

import hashlib

import pytest

from consent.ledger.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    RootAccumulator,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    subtree_root,
    verify_consistency,
    verify_inclusion,
)

h = bytes.fromhex

# github.com/transparency-dev/merkle, rfc6962/rfc6962_test.go (TestRFC6962Hasher).
HASHER_VECTORS = [
    (EMPTY_ROOT, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    (leaf_hash(b""), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    (leaf_hash(b"L123456"), "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"),
    (
        node_hash(b"N123", b"N456"),
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb",
    ),
]

# github.com/transparency-dev/merkle, proof/verify_test.go: the RFC 6962 reference leaves (also
# google/certificate-transparency's test data), the roots of their first 1..8, and proofs. There
# the inclusion vectors number leaves from 1; they are converted to 0-based indices here.
LEAVES = [h(x) for x in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657")]
LEAVES.append(h("606162636465666768696a6b6c6d6e6f"))
ROOTS = [
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]
P_96A2 = h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7")
P_5F08 = h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e")
P_6B47 = h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")
P_BC1A = h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")
P_CA85 = h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0")
P_D37E = h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")
P_0EBC = h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a")
P_B086 = h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f")
INCLUSION_VECTORS = [  # (index, size, proof)
    (0, 1, []),
    (0, 8, [P_96A2, P_5F08, P_6B47]),
    (5, 8, [P_BC1A, P_CA85, P_D37E]),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (1, 5, [h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"), P_5F08, P_BC1A]),
]
CONSISTENCY_VECTORS = [  # (old, new, proof)
    (1, 1, []),
    (1, 8, [P_96A2, P_5F08, P_6B47]),
    (6, 8, [P_0EBC, P_CA85, P_D37E]),
    (2, 5, [P_5F08, P_BC1A]),
    (6, 7, [P_0EBC, P_B086, P_D37E]),
]
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")

# github.com/transparency-dev/merkle, proof/proof_test.go (TestInclusion, TestConsistency): which
# nodes a proof is made of. A node id(level, index) is the range [index << level, ...); nodes the
# Go code "rehashes" together are the one right-edge range asked of get() here.
INCLUSION_RANGES = {
    (0, 1): [],
    (0, 2): [(1, 2)],
    (1, 2): [(0, 1)],
    (1, 3): [(0, 1), (2, 3)],
    (0, 7): [(1, 2), (2, 4), (4, 7)],
    (4, 7): [(5, 6), (6, 7), (0, 4)],
    (6, 7): [(4, 6), (0, 4)],
    (3, 5): [(2, 3), (0, 2), (4, 5)],
    (4, 6): [(5, 6), (0, 4)],
    (10, 15): [(11, 12), (8, 10), (12, 15), (0, 8)],
    (24, 31): [(25, 26), (26, 28), (28, 31), (16, 24), (0, 16)],
    (81, 95): [(80, 81), (82, 84), (84, 88), (88, 95), (64, 80), (0, 64)],
}
CONSISTENCY_RANGES = {
    (1, 2): [(1, 2)],
    (1, 4): [(1, 2), (2, 4)],
    (1, 6): [(1, 2), (2, 4), (4, 6)],
    (2, 3): [(2, 3)],
    (2, 8): [(2, 4), (4, 8)],
    (3, 7): [(2, 3), (3, 4), (0, 2), (4, 7)],
    (4, 7): [(4, 7)],
    (5, 7): [(4, 5), (5, 6), (6, 7), (0, 4)],
    (6, 7): [(4, 6), (6, 7), (0, 4)],
    (7, 8): [(6, 7), (7, 8), (4, 6), (0, 4)],
    (5, 5): [],
    (2, 4): [(2, 4)],
    (3, 5): [(2, 3), (3, 4), (0, 2), (4, 5)],
    (4, 6): [(4, 6)],
    (1, 7): [(1, 2), (2, 4), (4, 7)],
    (10, 15): [(8, 10), (10, 12), (12, 15), (0, 8)],
    (24, 31): [(16, 24), (24, 31), (0, 16)],
    (81, 95): [(80, 81), (81, 82), (82, 84), (84, 88), (88, 95), (64, 80), (0, 64)],
}


def recording(tree: MemoryTree, asked: list[tuple[int, int]]):
    def get(start: int, end: int) -> bytes:
        asked.append((start, end))
        return tree.get(start, end)

    return get


def mth(hashes: list[bytes]) -> bytes:
    """The RFC 9162 2.1.1 definition, recursively: an independent reference for the tests."""
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def flip(value: bytes, bit: int = 3) -> bytes:
    return bytes([value[0] ^ (1 << bit)]) + value[1:]


def flipped(proof: list[bytes], i: int, bit: int) -> list[bytes]:
    """The proof with one bit of its element i flipped."""
    return [*proof[:i], flip(proof[i], bit), *proof[i + 1 :]]


def hashes(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


REFERENCE = MemoryTree(leaf_hash(leaf) for leaf in LEAVES)
BIG = MemoryTree(hashes(200))


@pytest.mark.parametrize(("got", "want"), HASHER_VECTORS)
def test_rfc6962_hasher_vectors(got: bytes, want: str) -> None:
    assert got.hex() == want


def test_reference_roots_for_sizes_1_to_8() -> None:
    leaf_hashes = [leaf_hash(leaf) for leaf in LEAVES]
    for size in range(1, 9):
        assert root(leaf_hashes[:size]) == ROOTS[size - 1]
        assert REFERENCE.root(size) == ROOTS[size - 1]
    assert root([]) == EMPTY_ROOT == REFERENCE.root(0)


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS)
def test_reference_inclusion_proofs(index: int, size: int, proof: list[bytes]) -> None:
    leaf, good_root = leaf_hash(LEAVES[index]), ROOTS[size - 1]
    assert inclusion_proof(index, size, REFERENCE.get) == proof
    assert verify_inclusion(index, size, leaf, proof, good_root)
    # The corruptions of verify_test.go's corruptInclusionProof, none of which may verify.
    bad = [
        (index - 1, size, leaf, proof, good_root),
        (index + 1, size, leaf, proof, good_root),
        (index ^ 2, size, leaf, proof, good_root),
        (index, size * 2, leaf, proof, good_root),
        (index, size // 2, leaf, proof, good_root),
        (index, size, leaf_hash(b"WrongLeaf"), proof, good_root),
        (index, size, leaf, proof, EMPTY_ROOT),
        (index, size, leaf, proof, SOME_HASH),
        (index, size, leaf, [*proof, good_root], good_root),
        (index, size, leaf, [good_root, *proof], good_root),
        (index, size, leaf, [*proof, b""], good_root),
    ]
    bad += [(index, size, leaf, flipped(proof, i, 3), good_root) for i in range(len(proof))]
    if proof:
        bad.append((index, size, leaf, proof[:-1], good_root))
    if len(proof) > 1:
        bad.append((index, size, leaf, [proof[0], SOME_HASH, *proof[1:]], good_root))
    for args in bad:
        assert not verify_inclusion(*args), args[:2]


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_VECTORS)
def test_reference_consistency_proofs(old: int, new: int, proof: list[bytes]) -> None:
    r1, r2 = ROOTS[old - 1], ROOTS[new - 1]
    assert consistency_proof(old, new, REFERENCE.get) == proof
    assert verify_consistency(old, new, r1, r2, proof)
    if not proof:
        return
    # The corruptions of verify_test.go's corruptConsistencyProof.
    bad = [
        (old - 1, new, r1, r2, proof),
        (old + 1, new, r1, r2, proof),
        (old ^ 2, new, r1, r2, proof),
        (old, new * 2, r1, r2, proof),
        (old, new // 2, r1, r2, proof),
        (old, new, SOME_HASH, r2, proof),
        (old, new, r1, SOME_HASH, proof),
        (old, new, r2, r1, proof),
        (old, new, r1, r2, []),
        (old, new, r1, r2, [*proof, r1]),
        (old, new, r1, r2, [*proof, r2]),
        (old, new, r1, r2, [r1, *proof]),
        (old, new, r1, r2, [r2, *proof]),
        (old, new, r1, r2, [proof[0], *proof]),
        (old, new, r1, r2, proof[:-1]),
    ]
    bad += [(old, new, r1, r2, flipped(proof, i, 4)) for i in range(len(proof))]
    for args in bad:
        assert not verify_consistency(*args), args[:2]


def test_verify_inclusion_edge_cases_of_verify_test_go() -> None:
    single = leaf_hash(b"data")
    assert verify_inclusion(0, 1, single, [], single)
    assert not verify_inclusion(0, 1, single, [], b"")
    assert not verify_inclusion(0, 1, b"", [], single)
    for index, size in ((0, 0), (0, 1), (1, 0), (2, 1), (-1, 1)):
        assert not verify_inclusion(index, size, SOME_HASH, [], EMPTY_ROOT)


def test_verify_consistency_edge_cases_of_verify_test_go() -> None:
    # Go's "don't care" roots are not 32 bytes; 32-byte stand-ins keep the cases meaningful.
    r1, r2 = hashlib.sha256(b"don't care 1").digest(), hashlib.sha256(b"don't care 2").digest()
    e = EMPTY_ROOT
    cases = [
        (0, 0, r1, r2, [], False),
        (1, 1, r1, r2, [], False),
        (0, 0, r1, r1, [], True),  # sizes that are always consistent
        (0, 1, r1, r2, [], True),
        (1, 1, r2, r2, [], True),
        (1, 0, r1, r2, [], False),  # time travel to the past
        (2, 1, r1, r2, [], False),
        (1, 2, r1, r2, [], False),  # empty proof
        (0, 0, e, r2, [], False),  # roots don't match
        (1, 1, e, r2, [], False),
        (0, 0, e, e, [e], False),  # roots match but the proof is not empty
        (0, 1, e, e, [e], False),
        (1, 1, e, e, [e], False),
    ]
    for old, new, root1, root2, proof, ok in cases:
        assert verify_consistency(old, new, root1, root2, proof) is ok, (old, new)


@pytest.mark.parametrize(("index", "size"), sorted(INCLUSION_RANGES))
def test_inclusion_proof_asks_for_the_nodes_of_proof_test_go(index: int, size: int) -> None:
    asked: list[tuple[int, int]] = []
    tree = MemoryTree(hashes(size))
    proof = inclusion_proof(index, size, recording(tree, asked))
    assert asked[::-1] == INCLUSION_RANGES[(index, size)]
    assert proof == [tree.get(a, b) for a, b in INCLUSION_RANGES[(index, size)]]


@pytest.mark.parametrize(("old", "new"), sorted(CONSISTENCY_RANGES))
def test_consistency_proof_asks_for_the_nodes_of_proof_test_go(old: int, new: int) -> None:
    asked: list[tuple[int, int]] = []
    tree = MemoryTree(hashes(new))
    proof = consistency_proof(old, new, recording(tree, asked))
    assert asked[::-1] == CONSISTENCY_RANGES[(old, new)]
    assert proof == [tree.get(a, b) for a, b in CONSISTENCY_RANGES[(old, new)]]


def test_proof_generators_refuse_impossible_requests() -> None:
    for index, size in ((0, 0), (1, 0), (2, 1), (7, 7), (-1, 3)):
        with pytest.raises(ValueError, match="not in a tree"):
            inclusion_proof(index, size, BIG.get)
    for old, new in ((5, 0), (9, 8), (-1, 3)):
        with pytest.raises(ValueError, match="no consistency proof"):
            consistency_proof(old, new, BIG.get)
    assert consistency_proof(0, 7, BIG.get) == []


def test_every_inclusion_proof_up_to_64_leaves_verifies_and_a_flipped_bit_fails() -> None:
    for size in range(1, 65):
        root_hash = BIG.root(size)
        assert root_hash == mth(hashes(size))
        for index in range(size):
            leaf = BIG.perfect(0, index)
            proof = inclusion_proof(index, size, BIG.get)
            assert verify_inclusion(index, size, leaf, proof, root_hash), (index, size)
            assert not verify_inclusion(index, size, flip(leaf), proof, root_hash)
            assert not verify_inclusion(index, size, leaf, proof, flip(root_hash))
            for i in range(len(proof)):
                broken = flipped(proof, i, i % 8)
                assert not verify_inclusion(index, size, leaf, broken, root_hash)
            for other in (index - 1, index + 1):
                if 0 <= other < size:
                    assert not verify_inclusion(other, size, leaf, proof, root_hash)
            assert not verify_inclusion(index, size, leaf, [*proof, root_hash], root_hash)
            if proof:
                assert not verify_inclusion(index, size, leaf, proof[:-1], root_hash)


def test_every_consistency_proof_up_to_40_leaves_verifies_and_a_wrong_root_fails() -> None:
    for new in range(0, 41):
        new_root = BIG.root(new)
        for old in range(0, new + 1):
            old_root = BIG.root(old)
            proof = consistency_proof(old, new, BIG.get)
            assert verify_consistency(old, new, old_root, new_root, proof), (old, new)
            if old == 0:
                continue  # the empty tree is consistent with everything
            assert not verify_consistency(old, new, flip(old_root), new_root, proof)
            assert not verify_consistency(old, new, old_root, flip(new_root), proof)
            for i in range(len(proof)):
                broken = flipped(proof, i, i % 8)
                assert not verify_consistency(old, new, old_root, new_root, broken)
            assert not verify_consistency(old, new, old_root, new_root, [*proof, new_root])
            if proof:
                assert not verify_consistency(old, new, old_root, new_root, proof[:-1])
            if old < new:
                assert not verify_consistency(new, old, new_root, old_root, proof)


def test_streaming_accumulator_equals_root_for_every_size_up_to_200() -> None:
    leaf_hashes = hashes(200)
    acc = RootAccumulator()
    assert acc.root() == EMPTY_ROOT and acc.size == 0
    for size in range(1, 201):
        acc.append(leaf_hashes[size - 1])
        want = mth(leaf_hashes[:size])
        assert acc.size == size
        assert acc.root() == want == root(leaf_hashes[:size]) == BIG.root(size)
        assert len(acc.nodes) == size.bit_count()  # O(log n) memory
        assert RootAccumulator.from_nodes(acc.nodes).root() == want


def test_accumulator_resumes_from_a_stored_compact_range() -> None:
    leaf_hashes = hashes(100)
    acc = RootAccumulator()
    acc.extend(leaf_hashes[:37])
    resumed = RootAccumulator.from_nodes(acc.nodes)
    resumed.extend(leaf_hashes[37:])
    assert resumed.size == 100 and resumed.root() == mth(leaf_hashes)
    huge = RootAccumulator.from_nodes([(2**40, SOME_HASH), (1, EMPTY_ROOT)])
    assert huge.size == 2**40 + 1 and huge.root() == node_hash(SOME_HASH, EMPTY_ROOT)
    for bad in ([(3, SOME_HASH)], [(1, SOME_HASH), (2, SOME_HASH)], [(2, SOME_HASH)] * 2):
        with pytest.raises(ValueError, match="powers of two"):
            RootAccumulator.from_nodes(bad)
    with pytest.raises(ValueError, match="32 bytes"):
        RootAccumulator.from_nodes([(1, b"short")])
    with pytest.raises(ValueError, match="32 bytes"):
        acc.append(b"not a hash")


def test_subtree_root_reads_only_perfect_subtrees_of_aligned_ranges() -> None:
    reads: list[tuple[int, int]] = []

    def perfect(level: int, index: int) -> bytes:
        reads.append((level, index))
        return BIG.perfect(level, index)

    leaf_hashes = hashes(200)
    assert subtree_root(64, 95, perfect) == mth(leaf_hashes[64:95])
    assert reads == [(4, 4), (3, 10), (2, 22), (1, 46), (0, 94)]
    assert subtree_root(0, 200, perfect) == mth(leaf_hashes)
    for start, end in ((1, 3), (2, 5), (4, 4), (5, 4), (-1, 0)):
        with pytest.raises(ValueError, match="aligned"):
            subtree_root(start, end, perfect)
    # MemoryTree.get answers unaligned ranges too, straight from the definition.
    unaligned = node_hash(mth(leaf_hashes[1:3]), BIG.perfect(0, 3))
    assert BIG.get(1, 4) == mth(leaf_hashes[1:4]) == unaligned
    with pytest.raises(ValueError, match="range"):
        BIG.get(3, 3)
