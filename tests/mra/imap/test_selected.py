"""A session's view of the selected mailbox: sequence sets resolved to UIDs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailtool.mra.imap.backend import Snapshot
from mailtool.mra.imap.selected import InvalidSequence, SelectedMailbox
from mailtool.protocol.imap.sequence import SequenceSet
from mailtool.store.index import MessageSummary

bound = st.one_of(st.just("*"), st.integers(1, 70).map(str))
part = st.one_of(bound, st.tuples(bound, bound).map(":".join))
sets = st.lists(part, min_size=1, max_size=4).map(",".join)


def box_of(uids: list[int]) -> SelectedMailbox:
    rows = [MessageSummary(u, frozenset(), 1, 10, 0.0) for u in uids]
    return SelectedMailbox(None, "INBOX", Snapshot(1, 100, 1, rows), readonly=True)  # type: ignore[arg-type]


@given(st.lists(st.integers(1, 60), unique=True).map(sorted), sets)
def test_resolve_selects_what_the_set_names(uids: list[int], text: str) -> None:
    """UID sets pick the existing UIDs in the set's ranges (RFC 9051 §9: ``*`` is the
    largest UID); sequence sets the messages at those numbers, all ascending, once."""
    box = box_of(uids)
    seqs = SequenceSet.parse(text)
    top = uids[-1] if uids else 0
    assert box.resolve(seqs, uid=True) == [u for u in uids if seqs.contains(u, top)]
    try:
        by_number = box.resolve(seqs, uid=False)
    except InvalidSequence:
        numbers = [n for r in seqs.ranges for n in r if n is not None]
        assert any(n > len(uids) for n in numbers)
        return
    wanted = [n for n in range(1, len(uids) + 1) if seqs.contains(n, len(uids))]
    assert by_number == [uids[n - 1] for n in wanted]
