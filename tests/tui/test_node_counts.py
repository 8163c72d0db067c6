"""The accounts tree's counts, kept key by key, agree with a count from scratch."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kutui.model import Account, ApiKey, CheckResult, KeyRef, Registry, Status, SubAccount, now_utc
from kutui.tui.keyfacts import worst_status
from kutui.tui.widgets.account_tree import ROOT, NodeCounts, NodeRef

STATUSES = list(Status)
OWNERS = [("a", ""), ("a", "s1"), ("a", "s2"), ("b", ""), ("b", "s1")]


def registry_of(owners: list[int]) -> Registry:
    accounts = [Account("a", subaccounts=[SubAccount("s1"), SubAccount("s2")])]
    accounts.append(Account("b", subaccounts=[SubAccount("s1")]))
    keys = [
        ApiKey(f"k{i}", KeyRef(OWNERS[o][0], OWNERS[o][1], f"key{i}"), "abcd", added_at=now_utc())
        for i, o in enumerate(owners)
    ]
    return Registry(accounts=accounts, keys=keys)


def expected(registry: Registry, ref: NodeRef) -> tuple[int, Status | None]:
    keys = [k for k in registry.keys if ref.holds(k)]
    return len(keys), worst_status([k.status for k in keys]) if keys else None


NODES = [
    ROOT,
    NodeRef("a"),
    NodeRef("b"),
    NodeRef("a", "s1"),
    NodeRef("a", "s2"),
    NodeRef("b", "s1"),
]


@given(
    st.lists(st.integers(0, len(OWNERS) - 1), min_size=1, max_size=12),
    st.lists(
        st.lists(st.tuples(st.integers(0, 11), st.sampled_from(STATUSES)), max_size=6),
        max_size=5,
    ),
)
def test_batches_of_results_leave_the_counts_a_recount_gives(
    owners: list[int], batches: list[list[tuple[int, Status]]]
) -> None:
    registry = registry_of(owners)
    counts = NodeCounts()
    counts.recount(registry)
    for batch in batches:
        changed = []
        for index, status in batch:
            key = registry.keys[index % len(registry.keys)]
            key.last_check = CheckResult(status, now_utc())
            changed.append(key)
        assert counts.update(changed)
        dirty = counts.take_dirty()
        for ref in NODES:
            assert counts.shown(ref) == expected(registry, ref), ref
        # Only the nodes of keys whose status moved are redrawn.
        assert dirty <= {ref for ref in NODES if any(ref.holds(k) for k in changed)}
    fresh = NodeCounts()
    fresh.recount(registry)
    assert all(fresh.shown(ref) == counts.shown(ref) for ref in NODES)


def test_a_key_added_since_the_count_asks_for_a_recount() -> None:
    registry = registry_of([0, 1])
    counts = NodeCounts()
    counts.recount(registry)
    newcomer = ApiKey("k9", KeyRef("b", "", "new"), "abcd", added_at=now_utc())
    assert not counts.update([newcomer])


@given(
    st.lists(st.integers(0, len(OWNERS) - 1), min_size=1, max_size=12),
    st.lists(
        st.lists(
            st.tuples(st.integers(0, 11), st.sampled_from(STATUSES), st.booleans()), max_size=6
        ),
        max_size=5,
    ),
)
def test_stale_marks_kept_key_by_key_agree_with_a_recount(
    owners: list[int], batches: list[list[tuple[int, Status, bool]]]
) -> None:
    """A node is marked stale when every key counted with its worst status is stale (as an
    outage leaves it), and incremental updates give the marks a recount gives."""
    registry = registry_of(owners)
    stale: set[str] = set()

    def shown(key: ApiKey) -> tuple[Status, bool]:
        return key.status, key.id in stale

    counts = NodeCounts(shown)
    counts.recount(registry)
    for batch in batches:
        changed = []
        for index, status, is_stale in batch:
            key = registry.keys[index % len(registry.keys)]
            key.last_check = CheckResult(status, now_utc())
            (stale.add if is_stale else stale.discard)(key.id)
            changed.append(key)
        assert counts.update(changed)
        fresh = NodeCounts(shown)
        fresh.recount(registry)
        for ref in NODES:
            count, worst, marked = counts.label_of(ref)
            assert (count, worst, marked) == fresh.label_of(ref), ref
            with_worst = [k for k in registry.keys if ref.holds(k) and k.status is worst]
            assert marked == (bool(with_worst) and all(k.id in stale for k in with_worst))
