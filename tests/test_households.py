"""光荣牌 households (veterans.households): who forms a household, which count, which are hung."""

from veterans.households import household_counts, household_counts_by_area, households


def v(id, area="440902001001", **kw):
    return {"id": id, "area": area, **kw}


def test_a_household_is_a_head_and_the_members_linked_to_it():
    rows = [v("a"), v("b", soldier_id="a", relationship="spouse"), v("c")]
    found = {h.head_id: h for h in households(rows, [])}
    assert set(found) == {"a", "c"}
    assert found["a"].member_ids == ["b"]
    assert household_counts(rows, []) == (2, 0)


def test_a_deceased_soldier_household_counts_while_a_linked_member_is_living():
    rows = [v("a", status="deceased"), v("b", soldier_id="a", relationship="parent")]
    assert household_counts(rows, []) == (1, 0)
    rows[1]["status"] = "deceased"
    assert household_counts(rows, []) == (0, 0)


def test_deleted_merged_and_moved_out_heads_do_not_count():
    rows = [v("a", deleted=1), v("b", merged_into="c"), v("c", status="moved_out"),
            v("m", soldier_id="a")]
    assert household_counts(rows, []) == (0, 0)


def test_a_live_plaque_of_the_head_or_a_member_hangs_the_household():
    rows = [v("a"), v("b", soldier_id="a"), v("c"), v("d")]
    plaques = [{"id": "p1", "veteran_id": "b"}, {"id": "p2", "veteran_id": "c", "deleted": 1},
               {"id": "p3", "veteran_id": "d", "replaced_on": "2026-01-02"}]
    assert household_counts(rows, plaques) == (3, 2)


def test_a_plaque_of_an_ineligible_household_is_not_counted_as_hung():
    rows = [v("a", status="deceased")]
    assert household_counts(rows, [{"id": "p", "veteran_id": "a"}]) == (0, 0)


def test_counts_by_area_are_at_the_heads_area():
    rows = [v("a", area="440902001001"), v("b", area="440902001002", soldier_id="a"),
            v("c", area="440902001002")]
    assert household_counts_by_area(rows, [{"id": "p", "veteran_id": "c"}]) == {
        "440902001001": (1, 0), "440902001002": (1, 1)}
