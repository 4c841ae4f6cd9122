"""A conflict says when it was found with its zone (UTC), and shows it in local time."""

from __future__ import annotations

import datetime as dt
import time

from enginekit import TOWN, VILLAGE_A, Network
from station_node import records
from veterans import resolve as R
from veterans.values import id_number_check_digit


def test_detected_at_carries_its_zone_and_shows_in_local_time(tmp_path):
    net = Network(tmp_path, {"town": TOWN, "va": VILLAGE_A})
    try:
        first17 = "44090219700101001"
        vid = records.add_veteran(net.stations["town"], {"id_number": first17 + id_number_check_digit(first17),
                                                         "name": "张三", "area": VILLAGE_A})["id"]
        for name in ("town", "va"):
            net.sync(name)
        records.edit_veteran(net.stations["va"], vid, {"name": "张三甲"})
        records.edit_veteran(net.stations["town"], vid, {"name": "张三乙"})
        before = time.time()
        net.sync("va")
        net.sync("town")
        after = time.time()
        [c] = R.list_conflicts(net.hub)
        found = dt.datetime.fromisoformat(c["detected_at"])
        assert found.utcoffset() == dt.timedelta(0), c["detected_at"]
        assert before - 1 <= found.timestamp() <= after + 1
        shown = R.display_row(c)["发现时间"]
        assert shown == found.astimezone().strftime("%Y-%m-%d %H:%M")  # local time, to the minute
        # one written before zones were (local, naive) shows as it is
        assert R.local_time_text("2024-05-01T08:30:00") == "2024-05-01 08:30"
    finally:
        net.close()
