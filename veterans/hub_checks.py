"""The domain's checks that the hub hands its store (``HubStore.checks``).

``apply_push`` runs them as hooks (``sync.store.hub.PushHook``), so that the
engine and the stores know nothing of veterans or petitions:

- ``DOMAIN_CHECKS`` (``veterans.admission``): every pushed row's values and
  links, as the station would validate them;
- ``DuplicateIdentity``: two live veterans with one 身份证号 are one person
  recorded twice; filed once a pair where only the county and a scope holding
  both see it;
- ``PetitionTransition``: two events built on the same prior status that lead
  to different statuses (信访工作条例 allows one course of handling); a 更正
  and an event it voids contend with nothing (the fold leaves the voided one out).

``county_hub.home.open_hub`` installs ``HUB_CHECKS``.
"""

from __future__ import annotations

from sync.engine.merge import ConflictRecord
from sync.engine.rowstate import RowState
from sync.engine.scope import common_area
from veterans import petition as petition_rules
from veterans.admission import DOMAIN_CHECKS

__all__ = ["DuplicateIdentity", "PetitionTransition", "HUB_CHECKS"]

# A veteran's identity is compared again when the hub's own write changes one of these.
_IDENTITY_FIELDS = frozenset({"id_number", "deleted", "merged_into"})


class DuplicateIdentity:
    """File a duplicate identity for each pair of live veterans sharing an ID number."""

    def after_push(self, store, pushed, now_ms: int) -> None:
        veterans = [s for s in pushed.changed if s.table == "veterans" and s.values.get("id_number")]
        if not veterans:
            return
        # One query finds the numbers held by more than one live veteran; only those are examined.
        shared = store.shared_values("veterans", "id_number", (v.values["id_number"] for v in veterans),
                                     unset=("merged_into",))
        for v in veterans:
            if v.values["id_number"] in shared:
                self.check(store, v, now_ms)

    def after_hub_write(self, store, state: RowState, changed: frozenset[str], now_ms: int) -> None:
        if state.table == "veterans" and changed & _IDENTITY_FIELDS:
            self.check(store, state, now_ms)

    @staticmethod
    def check(store, state: RowState, now_ms: int) -> None:
        """File a duplicate identity for each other live veteran with ``state``'s ID number (once a pair)."""
        if state.deleted or state.values.get("merged_into") or not state.values.get("id_number"):
            return
        others = store.live_rows("veterans", {"id_number": state.values["id_number"]}, unset=("merged_into",),
                                 other_than=state.id)
        for other in others:
            first, second = sorted([state, other], key=lambda s: s.id)
            if store.conflict_filed("duplicate_identity", first.id, second.id):
                continue
            # Filed where only the county and a scope holding both veterans see it:
            # the pusher of one of them learns nothing of the other.
            store.file_conflict(
                ConflictRecord("duplicate_identity", "veterans", first.id, "id_number", second.id,
                               second.version("id_number"), first.id, first.version("id_number")),
                area=common_area(first.area, second.area) or first.area[:6], now_ms=now_ms,
            )


class PetitionTransition:
    """Two events built on the same prior status leading to different statuses."""

    def after_push(self, store, pushed, now_ms: int) -> None:
        for event in pushed.changed:
            if event.table == "petition_events" and ("petition_events", event.id) in pushed.created:
                self.check(store, event, now_ms)

    @staticmethod
    def check(store, event: RowState, now_ms: int) -> None:
        v = event.values
        from_status, kind = v.get("from_status") or None, v.get("kind")
        if kind == petition_rules.CORRECT:  # no status of its own
            return
        mine = _next_status(from_status, kind)
        others = store.live_rows("petition_events", {"petition_id": v.get("petition_id"), "from_status": from_status},
                                 other_than=event.id)
        if others:
            # A step voided by a 更正 is out of the course of handling: it contends with nothing.
            voided = {c.values.get("voids") for c in store.live_rows(
                "petition_events", {"petition_id": v.get("petition_id"), "kind": petition_rules.CORRECT})}
            if event.id in voided:
                return
            others = [o for o in others if o.id not in voided]
        for other in others:
            theirs = _next_status(from_status, other.values.get("kind"))
            # An event that keeps the status (延期, 调解) is followed by the next one on the
            # same prior status legitimately: only two status *changes* can contend.
            if theirs != mine and from_status not in (mine, theirs):
                winner, loser = sorted([event, other], key=lambda s: s.version("kind"), reverse=True)
                store.file_conflict(
                    ConflictRecord("petition_transition", "petition_events", loser.id, "kind",
                                   winner.values.get("kind"), winner.version("kind"),
                                   loser.values.get("kind"), loser.version("kind")),
                    area=event.area, now_ms=now_ms, owner=store.owner_of("petition_events", event),
                )
                return


def _next_status(status: str | None, kind: str | None) -> str | None:
    try:
        return petition_rules.next_status(status, kind)
    except Exception:  # an impossible transition leads nowhere known
        return None


#: What the hub hands ``apply_push``, in this order.
HUB_CHECKS = (DOMAIN_CHECKS, DuplicateIdentity(), PetitionTransition())
