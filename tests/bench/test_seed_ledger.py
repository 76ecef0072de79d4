"""bench.seed_ledger: the leaves and subtree hashes the database generates for the proof
benchmarks make the tree the broker's own appends make, before and after them (RFC 9162)."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench import seed_ledger
from consent.ledger import merkle, store
from consent.ledger.verify import verify_tree
from idp.migrate import scratch_database, upgrade
from tests.conftest import require
from tests.storage.conftest import SERVER, _reachable


@pytest.mark.postgres
def test_seeded_leaves_extend_the_tree_the_broker_keeps(tmp_path):
    where = make_url(SERVER).render_as_string(hide_password=True)
    require(_reachable(SERVER), f"PostgreSQL not reachable at {where}")
    with scratch_database(SERVER, tmp_path, "digione_seed_ledger") as url:
        engine = create_engine(url)
        upgrade(engine, "head")
        mine = [merkle.leaf_hash(hashlib.sha256(bytes([n])).digest()) for n in range(5)]
        with Session(engine) as session:
            for number, digest in enumerate(mine):
                store.append(session, "test", str(number), digest)
            session.commit()
        assert seed_ledger.seed(url, 1000) == 1005
        with Session(engine) as session:
            store.append(session, "test", "after", mine[0])  # the broker appends after it
            session.commit()
            seeded = [merkle.leaf_hash(f"bench leaf {n}".encode()) for n in range(5, 1005)]
            leaves = [*mine, *seeded, mine[0]]
            assert store.head(session) == (1006, merkle.root(leaves))
            assert verify_tree(session, "test", []) == []
            tree = store.StoredTree(session)
            proof = tree.inclusion(700, 1006)
            assert merkle.verify_inclusion(700, 1006, leaves[700], proof, merkle.root(leaves))
        engine.dispose()
