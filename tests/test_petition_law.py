"""信访工作条例 (2022) as issue 14 §1 reads it: a test per article, each with the
dates that decide it (the fold ``veterans.petition.derive``, the checks of a new
step ``check_event``, the holiday calendar ``veterans.holidays``), and the
station page carrying the new fields (Arts. 20, 21, 36, 41) end to end."""

from __future__ import annotations

import datetime as _dt
import re

import pytest

from station_node import records
from sync.engine.errors import ValidationError
from veterans import holidays
from veterans.petition import check_event, derive
from webapp import station_client, station_home

D = _dt.date
PETITION = {"id": "p1", "received_on": "2026-03-02"}
VILLAGE = "110101001001"


def ev(kind, at, **extra):
    return {"kind": kind, "at": at, **extra}


def by_what(state):
    return {d.what: d for d in state.deadlines}


REGISTERED = [ev("register", "2026-03-02"), ev("notify", "2026-03-03")]


# --------------------------------------------------------------------------- Arts. 29–31, 34: the 60 days


def test_art_34_sixty_days_run_for_a_processing_opinion_art_31_6():
    """Accepted 2 March 2026 for a 信访处理意见书: due 1 May (calendar days, the 劳动节
    holiday does not move this office's limit), overdue on 2 May."""
    log = [*REGISTERED, ev("accept", "2026-03-02", method="opinion")]
    handling = by_what(derive(PETITION, log, today=D(2026, 5, 1)))["办理期限"]
    assert handling.due == D(2026, 5, 1) and not handling.overdue
    assert derive(PETITION, log, today=D(2026, 5, 2)).overdue


@pytest.mark.parametrize("method, article", [("suggestion", "Art. 29"), ("accusation", "Art. 30"),
                                             ("legal_channel", "Art. 31(1)-(4)")])
def test_arts_29_30_31_no_sixty_days_without_a_processing_opinion(method, article):
    log = [*REGISTERED, ev("accept", "2026-03-02", method=method)]
    state = derive(PETITION, log, today=D(2026, 9, 1))  # 183 days later
    assert "办理期限" not in by_what(state), article
    assert state.method == method and state.is_open and not state.overdue, article


def test_art_34_a_legacy_acceptance_without_a_method_is_tracked_as_an_opinion():
    """A 受理 stored before 处理方式 existed keeps its 60 days: nothing stops being tracked."""
    state = derive(PETITION, [*REGISTERED, ev("accept", "2026-03-02")], today=D(2026, 5, 2))
    assert state.method == "opinion" and by_what(state)["办理期限"].due == D(2026, 5, 1) and state.overdue


# --------------------------------------------------------------------------- Arts. 22–23: the written notice


def test_arts_22_23_routing_alone_is_no_notice():
    """Received 2 March, forwarded 5 March without a written notice: overdue on 18 March
    (due 17 March); the 告知 of 17 March meets it on the day."""
    log = [ev("register", "2026-03-02"), ev("forward", "2026-03-05")]
    state = derive(PETITION, log, today=D(2026, 3, 18))
    assert by_what(state)["受理告知期限"].due == D(2026, 3, 17) and state.overdue
    met = derive(PETITION, [*log, ev("notify", "2026-03-17")], today=D(2026, 3, 18))
    notice = by_what(met)["受理告知期限"]
    assert notice.met_on == D(2026, 3, 17) and not notice.late and not met.overdue
    served = derive(PETITION, [ev("register", "2026-03-02"), ev("accept", "2026-03-05", served_on="2026-03-18")],
                    today=D(2026, 3, 20))
    assert by_what(served)["受理告知期限"].late  # the notice went out a day late


def test_art_22_no_notice_due_when_the_name_or_address_is_unclear():
    state = derive({**PETITION, "address_unclear": 1}, [ev("register", "2026-03-02")], today=D(2026, 6, 1))
    assert "受理告知期限" not in by_what(state) and not state.overdue


# --------------------------------------------------------------------------- Art. 34: the extension


def test_art_34_extension_length_recorded_and_capped():
    log = [*REGISTERED, ev("accept", "2026-03-02", method="opinion"),
           ev("extend", "2026-04-20", days=20, approver="局长", served_on="2026-04-21", note="需调查")]
    state = derive(PETITION, log, today=D(2026, 5, 21))
    assert state.extended and state.extension_days == 20
    assert by_what(state)["办理期限"].due == D(2026, 5, 21) and not state.overdue
    before = derive(PETITION, log[:3], today=D(2026, 4, 20))
    ok = {"at": "2026-04-20", "days": 30, "approver": "局长", "served_on": "2026-04-20"}
    assert check_event("accepted", "extend", state=before, values=ok) == "accepted"
    for values, message in (({**ok, "days": 31}, "超出范围"), ({**ok, "days": None}, "延长天数"),
                            ({**ok, "approver": ""}, "批准人"), ({**ok, "served_on": None}, "告知信访人"),
                            ({**ok, "at": "2026-05-02"}, "已过")):
        with pytest.raises(ValidationError, match=message):
            check_event("accepted", "extend", state=before, values=values)


def test_art_34_an_extension_entered_after_the_deadline_does_not_hide_the_miss():
    """Due 1 May; the 延期 entered on 4 May is not applied: overdue since 2 May."""
    log = [*REGISTERED, ev("accept", "2026-03-02", method="opinion"),
           ev("extend", "2026-05-04", days=30, approver="局长", served_on="2026-05-04")]
    state = derive(PETITION, log, today=D(2026, 5, 5))
    assert by_what(state)["办理期限"].due == D(2026, 5, 1) and state.overdue and not state.extended
    assert any("之后，不计" in a for a in state.anomalies)


# --------------------------------------------------------------------------- Arts. 35–36: 复查 and 复核


def test_art_35_review_window_runs_from_service_and_moves_over_national_day():
    """Replied 20 August 2026, served 1 September: 30 days end on 1 October, in the
    国庆 holiday (1–7 October): the window ends on 8 October (民法典 Art. 203)."""
    log = [*REGISTERED, ev("accept", "2026-03-02", method="opinion"),
           ev("reply", "2026-08-20", outcome="not_support"), ev("serve", "2026-09-01")]
    window = by_what(derive(PETITION, log, today=D(2026, 10, 8)))["复查申请期限"]
    assert window.window and window.due == D(2026, 10, 8)
    state = derive(PETITION, [*log, ev("review_request", "2026-10-08")], today=D(2026, 10, 9))
    assert by_what(state)["复查申请期限"].met_on == D(2026, 10, 8) and not state.anomalies
    # the same, with the service date on the reply itself
    same = derive(PETITION, [*log[:3], ev("reply", "2026-08-20", outcome="not_support", served_on="2026-09-01")],
                  today=D(2026, 9, 2))
    assert by_what(same)["复查申请期限"].due == D(2026, 10, 8)


def test_arts_35_36_answer_limits_are_the_upper_organs_and_a_hearing_is_not_counted():
    """复查 requested 1 June: the upper organ's 30 days end 1 July; not this office's
    overdue on 2 July. 复核 requested 1 September, a 听证 of 10 days: due 11 October."""
    log = [*REGISTERED, ev("accept", "2026-03-02", method="opinion"),
           ev("reply", "2026-05-01", outcome="explain", served_on="2026-05-06"), ev("review_request", "2026-06-01")]
    state = derive(PETITION, log, today=D(2026, 7, 2))
    review = by_what(state)["复查答复期限"]
    assert review.due == D(2026, 7, 1) and review.upper and not review.overdue and not state.overdue
    log += [ev("review_opinion", "2026-07-01"), ev("serve", "2026-08-10")]
    window = by_what(derive(PETITION, log, today=D(2026, 8, 11)))["复核申请期限"]
    assert window.due == D(2026, 9, 9)  # 30 days from the service of the opinion (a Wednesday)
    log += [ev("recheck_request", "2026-09-01"), ev("hearing", "2026-09-15", days=10)]
    recheck = by_what(derive(PETITION, log, today=D(2026, 10, 12)))["复核答复期限"]
    assert recheck.due == D(2026, 10, 11) and recheck.upper and not recheck.overdue


def test_art_36_after_recheck_the_case_is_closed_for_good():
    log = [*REGISTERED, ev("accept", "2026-03-02", method="opinion"), ev("reply", "2026-04-01", outcome="support"),
           ev("review_request", "2026-04-10"), ev("review_opinion", "2026-05-01"),
           ev("recheck_request", "2026-05-10"), ev("recheck_opinion", "2026-06-01")]
    state = derive(PETITION, log, today=D(2026, 6, 2))
    assert state.status == "closed" and state.rechecked and not state.is_open


# --------------------------------------------------------------------------- Arts. 25, 32: 上报, 答复, 办结


def test_art_25_escalation_does_not_end_this_offices_duty():
    log = [*REGISTERED, ev("accept", "2026-03-02", method="opinion"), ev("escalate", "2026-03-10")]
    state = derive(PETITION, log, today=D(2026, 5, 2))
    assert state.status == "escalated" and state.is_open and state.overdue  # 60 days ended 1 May


def test_art_32_a_reply_needs_its_outcome_and_a_close_needs_a_reply():
    accepted = derive(PETITION, [*REGISTERED, ev("accept", "2026-03-02", method="opinion")], today=D(2026, 3, 3))
    with pytest.raises(ValidationError, match="支持、解释说明或不予支持"):
        check_event("accepted", "reply", state=accepted, values={"at": "2026-03-03"})
    assert check_event("accepted", "reply", state=accepted, values={"at": "2026-03-03", "outcome": "support"})
    with pytest.raises(ValidationError, match="尚未答复"):
        check_event("accepted", "close", state=accepted, values={"at": "2026-03-03"})
    # a matter sent to litigation (Art. 31(1)-(4)) is closed without a 处理意见书
    sent = derive(PETITION, [*REGISTERED, ev("accept", "2026-03-02", method="legal_channel")], today=D(2026, 3, 3))
    assert check_event("accepted", "close", state=sent, values={"at": "2026-03-03"}) == "closed"
    # a stored close without a reply (before this rule) still closes, and is noted
    old = derive(PETITION, [*REGISTERED, ev("accept", "2026-03-02"), ev("close", "2026-03-09")], today=D(2026, 6, 1))
    assert old.status == "closed" and any("未登记答复" in a for a in old.anomalies)


def test_arts_22_32_a_matter_not_accepted_closes_on_its_written_notice_without_a_reply():
    rejected = derive(PETITION, [*REGISTERED, ev("reject", "2026-03-05")], today=D(2026, 3, 9))
    assert check_event("not_accepted", "close", state=rejected, values={"at": "2026-03-09"}) == "closed"
    closed = derive(PETITION, [*REGISTERED, ev("reject", "2026-03-05"), ev("close", "2026-03-09")], today=D(2026, 6, 1))
    assert closed.status == "closed" and closed.anomalies == ()


# --------------------------------------------------------------------------- 民法典 Art. 203: the calendar


def test_civil_code_art_203_the_calendar_is_data_and_a_county_may_override_it(tmp_path, monkeypatch):
    cal = holidays.calendar()
    assert cal.roll_forward(D(2026, 10, 1)) == D(2026, 10, 8)     # 国庆
    assert cal.roll_forward(D(2026, 2, 15)) == D(2026, 2, 24)     # 春节
    assert cal.roll_forward(D(2026, 12, 5)) == D(2026, 12, 7)     # a Saturday
    assert cal.roll_forward(D(2026, 12, 7)) == D(2026, 12, 7)     # a Monday stays
    county = tmp_path / "holidays.toml"
    county.write_text('[2026]\nholidays = [["2026-12-07", "2026-12-08"]]\nworkdays = ["2026-12-05"]\n',
                      encoding="utf-8")
    monkeypatch.setenv(holidays.ENV, str(county))
    assert holidays.roll_forward(D(2026, 12, 5)) == D(2026, 12, 5)  # the county's make-up working day
    assert holidays.roll_forward(D(2026, 12, 6)) == D(2026, 12, 9)  # over the county's own rest days
    assert holidays.roll_forward(D(2025, 10, 1)) == D(2025, 10, 9)  # 2025 from the package file
    with pytest.raises(ValueError):
        holidays.Calendar.parse('[2026]\nholidays = [["2026-12-08", "2026-12-07"]]\n')


# --------------------------------------------------------------------------- the station page


def _html(r) -> str:
    return r.get_data(as_text=True)


def _pid(r) -> str:
    assert r.status_code == 302, re.findall(r'role="alert"[^>]*>([^<]*)<', _html(r))
    return re.fullmatch(r".*/petitions/([^/]+)", r.headers["Location"]).group(1)


def test_arts_20_21_36_41_the_page_records_the_fields_and_flags_a_repeat(tmp_path):
    client = station_client(station_home(tmp_path, VILLAGE))
    today = _dt.date.today().isoformat()
    base = {"petitioner": "李四", "channel": "visit", "summary": "要求落实优待", "received": today, "area": VILLAGE}
    # Art. 20: a 集体访 names at most five representatives
    r = client.post("/petitions/new", {**base, "collective": "1", "group_size": "30", "representatives": "6"})
    assert r.status_code == 400 and "不超过 5 人" in _html(r)
    first = _pid(client.post("/petitions/new", {**base, "collective": "1", "group_size": "30",
                                                "representatives": "5", "case_no": "XF2026-0001",
                                                "domain": "优抚安置", "respondent": "某镇民政办"}))
    store = client.app.extensions["station"].store
    pet, _, _ = records.petition_detail(store, first)
    assert (pet["case_no"], pet["domain"], pet["respondent"], pet["collective"], pet["representatives"]) == (
        "XF2026-0001", "优抚安置", "某镇民政办", 1, 5)
    page = _html(client.get(f"/petitions/{first}"))
    assert "XF2026-0001" in page and "被投诉单位" in page
    # the form offers neither 办结 before a 答复 nor 延期 outside a running 办理期限 (Arts. 32, 34)
    offered = re.findall(r'<option value="([^"]+)"', re.search(r'<select name="kind".*?</select>',
                                                             _html(client.get(f"/petitions/{first}")), re.S).group(0))
    assert "close" not in offered and "extend" not in offered and "notify" in offered
    # the event form offers the fields of the chosen step
    assert 'id="event-method"' in _html(client.get(f"/petitions/{first}/outcome?kind=accept"))
    extend = _html(client.get(f"/petitions/{first}/outcome?kind=extend"))
    assert 'id="event-days"' in extend and 'id="event-approver"' in extend and 'id="event-served"' in extend
    steps = [("accept", {"method": "opinion", "served_on": today}), ("reply", {"outcome": "not_support"}),
             ("serve", {}), ("review_request", {}), ("review_opinion", {"outcome": "not_support"}),
             ("recheck_request", {}), ("hearing", {"days": "5"}), ("recheck_opinion", {"outcome": "not_support"})]
    for kind, extra in steps:
        r = client.post(f"/petitions/{first}/events", {"kind": kind, "at": today, **extra})
        assert r.status_code == 302, (kind, re.findall(r'role="alert"[^>]*>([^<]*)<', _html(r)))
    _, events, state = records.petition_detail(store, first)
    assert state.rechecked and [e.get("days") for e in events if e["kind"] == "hearing"] == [5]
    assert "受理告知期限" in {d.what for d in state.deadlines if d.met_on}
    # Art. 36: the same matter again is flagged and not accepted
    again = _pid(client.post("/petitions/new", {**base, "linked_to": first}))
    page = _html(client.get(f"/petitions/{again}"))
    assert 'id="petition-repeat"' in page
    listed = {p["id"]: st for p, st in records.list_petitions(store)}
    assert listed[again].repeat_of == first and listed[first].repeat_of is None  # the list says the same
    assert listed[again] == records.petition_detail(store, again)[2]
    rows = re.findall(r'data-testid="petition-row" data-id="([^"]+)".*?</tr>', _html(client.get("/petitions/")), re.S)
    listing = _html(client.get("/petitions/"))
    assert len(rows) == 2 and listing.count('data-testid="petition-row-repeat"') == 1
    r = client.post(f"/petitions/{again}/events", {"kind": "accept", "at": today, "method": "opinion"})
    assert r.status_code == 400 and "不再受理" in _html(r)
    assert client.post(f"/petitions/{again}/events", {"kind": "reject", "at": today,
                                                      "served_on": today}).status_code == 302
    r = client.post("/petitions/new", {**base, "linked_to": "no-such-petition"})
    assert r.status_code == 400 and "前次信访件" in _html(r)


# --------------------------------------------------------------------------- the hub checks the same


def test_the_hub_refuses_what_the_law_does_not_allow_and_accepts_older_stations(tmp_path):
    """A pushed row is checked as the station checks it (veterans.admission): a field of a
    step that does not take it, a 延期 over 30 days, more than five representatives
    (Art. 20) are refused; a 受理 without 处理方式 (a station of the code before) is not."""
    import time
    import uuid

    from enginekit import COUNTY, VILLAGE_A
    from sync.engine.hlc import make_version
    from sync.engine.rowstate import RowState
    from sync.store.hub import HubStore
    from veterans.hub_checks import HUB_CHECKS

    replica, tick = "a1" * 8, [0]

    def row(table, values):
        tick[0] += 1
        v = make_version(int(time.time() * 1000), tick[0], replica)
        values = {"deleted": 0, **values}
        return RowState(table, str(uuid.uuid4()), values, dict.fromkeys(values, v), dict.fromkeys(values, ""))

    hub = HubStore(tmp_path / "hub.db", create=True)
    try:
        with hub.transaction():
            hub.set_meta("county", COUNTY)
        hub.checks = HUB_CHECKS
        pet = row("petitions", {"area": VILLAGE_A, "station": VILLAGE_A, "petitioner": "甲", "channel": "visit",
                                "received_on": "2026-03-02", "summary": "反映问题", "class": "appeal",
                                "confidential": 0, "collective": 1, "representatives": 5})

        def event(kind, status, **extra):
            return row("petition_events", {"petition_id": pet.id, "area": VILLAGE_A, "at": "2026-03-03",
                                           "kind": kind, "from_status": status, **extra})

        def push(rows):
            result = hub.apply_push(rows, station=VILLAGE_A, scope=VILLAGE_A, replica_id=replica)
            return [reason for _t, _i, reason in result.refused]

        assert push([pet, event("register", None), event("accept", "registered")]) == []  # no method: older code
        assert push([event("reply", "accepted", outcome="support", method="opinion")]) == ["处理方式只用于受理"]
        assert push([event("extend", "accepted", note="复杂", days=45, approver="局长")]) == ["延期不得超过 30 日"]
        assert push([event("mediate", "accepted", approver="局长")]) == ["批准人只用于延期"]
        assert push([event("hearing", "under_recheck", days=5)]) == []
        six = row("petitions", {**pet.values, "representatives": 6})
        assert push([six]) == ["集体访代表不超过 5 人"]
    finally:
        hub.close()


# --------------------------------------------------------------------------- the command line


def test_the_command_line_takes_the_fields_and_shows_the_deadlines(tmp_path):
    """Arts. 20, 21, 29, 34 from ``station-node``: --set for the petition's fields, --method,
    --days, --approver, --served for the steps; ``show --json`` says whose limit is whose."""
    from stationcli import ok, ok_json, run

    home, village = tmp_path / "v", "440902001001"
    ok(home, "init", "--station", village, "--offline")
    received = (_dt.date.today() - _dt.timedelta(days=3)).isoformat()
    base = ("petition", "open", "--channel", "走访", "--summary", "反映问题", "--petitioner", "甲", "--area", village,
            "--received", received)
    refused = run(home, *base, "--set", "代表人数=6")
    assert refused.exit_code == 1 and "不超过 5 人" in refused.stderr
    pid = ok(home, *base, "--set", "信访信息系统编号=XF2026-0002", "--set", "集体访=是", "--set", "代表人数=3").strip()
    shown = ok_json(home, "petition", "show", pid)
    assert (shown["case_no"], shown["collective"], shown["representatives"]) == ("XF2026-0002", 1, 3)
    ok(home, "petition", "event", pid, "--kind", "受理", "--method", "建议意见类", "--served", received,
       "--date", received)
    shown = ok_json(home, "petition", "show", pid)
    assert shown["method"] == "suggestion" and "办理期限" not in {d["what"] for d in shown["deadlines"]}
    assert {d["what"]: d["met_on"] for d in shown["deadlines"]} == {"受理告知期限": received}
    refused = run(home, "petition", "event", pid, "--kind", "延期", "--note", "x", "--days", "10", "--approver", "局长",
                  "--served", received)
    assert refused.exit_code == 1 and "没有办理期限" in refused.stderr
    text = ok(home, "petition", "show", pid)
    assert "建议意见类" in text and "信访信息系统编号" in text
