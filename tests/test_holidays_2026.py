"""The 2026 holiday calendar (veterans/holidays.toml) is the State Council's notice of
2025-11-04 (国务院办公厅关于2026年部分节假日安排的通知), day by day: its seven holidays and
six make-up working days, and nothing else but weekends at rest. The petitioner's
windows move over it (民法典 Art. 203; 信访工作条例 Arts. 35–36)."""

from __future__ import annotations

import datetime as dt

from veterans import holidays

D = dt.date

# The notice, as published: (first, last) of each holiday; the make-up working days.
NOTICE_2026 = [(D(2026, 1, 1), D(2026, 1, 3)), (D(2026, 2, 15), D(2026, 2, 23)), (D(2026, 4, 4), D(2026, 4, 6)),
               (D(2026, 5, 1), D(2026, 5, 5)), (D(2026, 6, 19), D(2026, 6, 21)), (D(2026, 9, 25), D(2026, 9, 27)),
               (D(2026, 10, 1), D(2026, 10, 7))]
WORKDAYS_2026 = {D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10)}


# The package's file itself, whatever a county's VETSYNC_HOLIDAYS says.
CAL = holidays.Calendar.parse(holidays.PACKAGE_FILE.read_text(encoding="utf-8"))


def test_every_day_of_2026_is_at_rest_as_the_notice_says():
    off = {first + dt.timedelta(days=n) for first, last in NOTICE_2026 for n in range((last - first).days + 1)}
    day = D(2026, 1, 1)
    while day.year == 2026:
        expected = day in off or (day.weekday() >= 5 and day not in WORKDAYS_2026)
        assert CAL.is_rest_day(day) is expected, day
        day += dt.timedelta(days=1)


def test_art_203_a_window_ending_in_the_spring_festival_moves_to_the_first_working_day():
    """民法典 Art. 203: a last day on 2026-02-18 (春节) moves to Tuesday 24 February;
    one on Saturday 2026-02-14 (a make-up working day) stays."""
    assert CAL.roll_forward(D(2026, 2, 18)) == D(2026, 2, 24)
    assert CAL.roll_forward(D(2026, 2, 14)) == D(2026, 2, 14)
    assert CAL.roll_forward(D(2026, 10, 3)) == D(2026, 10, 8)
