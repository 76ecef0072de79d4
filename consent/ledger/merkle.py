"""RFC 9162 (Certificate Transparency 2.0) section 2.1: the Merkle Tree Hash over SHA-256.

Hashes (2.1.1), inclusion proofs (2.1.3.1) and their verification (2.1.3.2), consistency proofs
(2.1.4.1) and their verification (2.1.4.2), plus a streaming root accumulator.

The proof generators read the tree only through ``get(start, end)``, MTH of the leaves
[start, end). Each range asked for is *aligned* (``start`` a multiple of the smallest power of
two >= ``end - start``) and at most one per proof is not a perfect subtree, so storage keeping
perfect subtree hashes answers a whole proof with :func:`subtree_root` in O(log n) reads.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) = SHA-256() (2.1.1)

SubtreeGetter = Callable[[int, int], bytes]  # get(start, end) -> MTH of the leaves [start, end)


def leaf_hash(data: bytes) -> bytes:
    """MTH({d(0)}) = SHA-256(0x00 || d(0)), the hash of one leaf (RFC 9162 section 2.1.1)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right), an interior node (RFC 9162 section 2.1.1)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """k, the largest power of two smaller than n (n > 1), so that k < n <= 2k (2.1.1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _are_hashes(*values: object) -> bool:
    return all(isinstance(value, bytes) and len(value) == HASH_SIZE for value in values)


def _is_aligned(start: int, end: int) -> bool:
    """Whether start is a multiple of the smallest power of two >= end - start > 0."""
    return 0 <= start < end and start % (1 << (end - start - 1).bit_length()) == 0


def _fold(subtrees: Sequence[bytes]) -> bytes:
    """MTH of consecutive perfect subtrees of decreasing sizes: hashed right to left (2.1.1)."""
    digest = subtrees[-1]
    for left in reversed(subtrees[:-1]):
        digest = node_hash(left, digest)
    return digest


class RootAccumulator:
    """MTH computed while leaf hashes stream in, in O(log n) memory (RFC 9162 section 2.1.1).

    Keeps the compact range [0, n): one (size, hash) per set bit of n, biggest first, each a
    perfect subtree. Appending merges equal neighbours; the root folds them right to left,
    which is MTH's split at the largest power of two.
    """

    __slots__ = ("_nodes",)

    def __init__(self) -> None:
        self._nodes: list[tuple[int, bytes]] = []

    @property
    def size(self) -> int:
        """How many leaves have been appended."""
        return sum(size for size, _ in self._nodes)

    @property
    def nodes(self) -> tuple[tuple[int, bytes], ...]:
        """The compact range as (subtree size, hash) pairs, biggest first: enough to resume."""
        return tuple(self._nodes)

    @classmethod
    def from_nodes(cls, nodes: Iterable[tuple[int, bytes]]) -> RootAccumulator:
        """Resume from :attr:`nodes`: sizes must be strictly decreasing powers of two."""
        acc = cls()
        for size, digest in nodes:
            if size <= 0 or size & (size - 1) or (acc._nodes and size >= acc._nodes[-1][0]):
                raise ValueError("compact range sizes must be decreasing powers of two")
            if not _are_hashes(digest):
                raise ValueError("compact range hashes must be 32 bytes")
            acc._nodes.append((size, digest))
        return acc

    def append(self, leaf: bytes) -> list[tuple[int, bytes]]:
        """Add the next leaf hash (already :func:`leaf_hash`-ed). Returns the perfect subtrees
        of two leaves or more that it completed, as (size, hash), smallest first: the ones a
        store keeps so that proofs need O(log n) reads (each ends at this leaf)."""
        if not _are_hashes(leaf):
            raise ValueError("a leaf hash is 32 bytes")
        size, digest, completed = 1, leaf, []
        while self._nodes and self._nodes[-1][0] == size:
            digest = node_hash(self._nodes.pop()[1], digest)
            size *= 2
            completed.append((size, digest))
        self._nodes.append((size, digest))
        return completed

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Append every leaf hash of an iterable, in order."""
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        """MTH of the leaves appended so far (SHA-256 of the empty string for none)."""
        return _fold([digest for _, digest in self._nodes]) if self._nodes else EMPTY_ROOT


def root(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH(D[n]) over already-hashed leaves (RFC 9162 section 2.1.1), streaming."""
    acc = RootAccumulator()
    acc.extend(leaf_hashes)
    return acc.root()


def subtree_root(start: int, end: int, perfect: Callable[[int, int], bytes]) -> bytes:
    """MTH of the aligned range [start, end) from stored perfect subtrees (RFC 9162 2.1.1).

    ``perfect(level, index)`` returns the hash of the 2**level leaves from index * 2**level.
    The range is split like MTH splits it: one perfect subtree per set bit of ``end - start``,
    biggest first, hashed together right to left.
    """
    if not _is_aligned(start, end):
        raise ValueError(f"[{start}, {end}) is not an aligned subtree range")
    width, parts = end - start, []
    for level in range(width.bit_length() - 1, -1, -1):
        if width >> level & 1:
            parts.append(perfect(level, start >> level))
            start += 1 << level
    return _fold(parts)


class MemoryTree:
    """Leaf hashes held in memory with every perfect subtree, for tests and small trees.

    Pass :meth:`get` as the ``get`` of :func:`inclusion_proof` and :func:`consistency_proof`.
    """

    def __init__(self, leaf_hashes: Iterable[bytes]) -> None:
        levels = [list(leaf_hashes)]
        if not _are_hashes(*levels[0]):
            raise ValueError("a leaf hash is 32 bytes")
        while len(levels[-1]) > 1:
            below = levels[-1]
            levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
        self._levels = levels
        self.size = len(levels[0])

    def perfect(self, level: int, index: int) -> bytes:
        """The hash of the perfect subtree of 2**level leaves from index * 2**level."""
        return self._levels[level][index]

    def get(self, start: int, end: int) -> bytes:
        """MTH of the leaves [start, end): any range, O(log n) for aligned ones."""
        if not 0 <= start < end <= self.size:
            raise ValueError(f"[{start}, {end}) is not a non-empty range of {self.size} leaves")
        if _is_aligned(start, end):
            return subtree_root(start, end, self.perfect)
        return root(self._levels[0][start:end])

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (all of them by default)."""
        size = self.size if size is None else size
        return EMPTY_ROOT if size == 0 else self.get(0, size)


def inclusion_proof(index: int, size: int, get: SubtreeGetter) -> list[bytes]:
    """PATH(index, D[size]), the audit path of a leaf, leaf side first (RFC 9162 2.1.3.1)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    path, lo, hi = [], 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append(get(lo + k, hi))
            hi = lo + k
        else:
            path.append(get(lo, lo + k))
            lo += k
    path.reverse()
    return path


def consistency_proof(old: int, new: int, get: SubtreeGetter) -> list[bytes]:
    """PROOF(old, D[new]) = SUBPROOF(old, D[new], true) (RFC 9162 section 2.1.4.1).

    Empty when old == new, and by convention when old == 0 (the empty tree is a prefix of all).
    """
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from size {old} to size {new}")
    if old in (0, new):
        return []
    proof = []
    lo, hi, m, whole = 0, new, old, True
    while hi - lo != m:
        k = _split(hi - lo)
        if m <= k:
            proof.append(get(lo + k, hi))
            hi = lo + k
        else:
            proof.append(get(lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        proof.append(get(lo, hi))  # SUBPROOF(m, D[m], false) = {MTH(D[m])}
    proof.reverse()
    return proof


def _shift_while_even(fn: int, sn: int) -> tuple[int, int]:
    """Right-shift both until LSB(fn) is set or fn is 0 (2.1.3.2 step 4, 2.1.4.2 step 6)."""
    while fn and not fn & 1:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes
) -> bool:
    """Whether ``proof`` shows leaf hash ``leaf`` at ``index`` of the tree (RFC 9162 2.1.3.2)."""
    if not (0 <= index < size and _are_hashes(leaf, root_hash, *proof)):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            fn, sn = _shift_while_even(fn, sn)
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and hmac.compare_digest(r, root_hash)


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree of size ``old`` is a prefix of ``new`` (RFC 9162 2.1.4.2).

    old == new needs an empty proof and equal roots; old == 0 is consistent with any tree and
    needs an empty proof (by convention: the RFC defines proofs for 0 < old < new).
    """
    if not (0 <= old <= new and _are_hashes(old_root, new_root, *proof)):
        return False
    if old == new:
        return not proof and hmac.compare_digest(old_root, new_root)
    if old == 0 or not proof:
        return old == 0 and not proof
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            fn, sn = _shift_while_even(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and hmac.compare_digest(fr, old_root) and hmac.compare_digest(sr, new_root)
