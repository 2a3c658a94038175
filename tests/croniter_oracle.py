"""The oracle of tests/cron_croniter.rs: croniter's next fire times for each case read from stdin.

stdin: a JSON list of {"expr", "tz", "from", "count"}; stdout: a JSON list with, for each case,
the fire times as UTC RFC 3339 text, or {"error": text} when croniter refuses the expression or
finds no time. `implement_cron_bug` is Vixie cron's reading of a day field that starts with `*`
(`*/2`) as unrestricted, which Switchboard follows.
"""

import json
import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from croniter import croniter


def fire_times(case):
    zone = ZoneInfo(case["tz"])
    start = datetime.fromisoformat(case["from"].replace("Z", "+00:00")).astimezone(zone)
    with_seconds = len(case["expr"].split()) == 6
    try:
        times = croniter(case["expr"], start, second_at_beginning=with_seconds, implement_cron_bug=True)
        found = [times.get_next(datetime) for _ in range(case["count"])]
    except Exception as error:  # croniter's refusals and "no next date" alike
        return {"error": f"{type(error).__name__}: {error}"}
    return [t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") for t in found]


print(json.dumps([fire_times(case) for case in json.load(sys.stdin)]))
