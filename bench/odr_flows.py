"""What moved Amazon's ODR figure in the 14 days after the evaluations that stated a given chance, beside what the model
expected: `python -m bench.odr_flows --load FILE [--part held_out|tuning] [--band 0.4,0.7]`, FILE kept by
`python -m bench.calibration --metrics odr --save FILE`.

Amazon's figure gains defects (negative feedback, claims from their filing, chargebacks) and loses them (feedback
removed, claims denied or withdrawn). The model draws the defects still to come; of the known ones, it lets negative
feedback go as the account's own was removed (alerts/removal.py), and a recent open claim as often as
`RECENT_CLAIMS_LEAVING` says (alerts/breach.py).
"""
from __future__ import annotations

import argparse
import pickle
from datetime import timedelta
from pathlib import Path

from alerts.metrics.definitions import definition
from bench.calibration import DAY, FAMILY_SIZE, Case, account_views
from bench.family import family

DAYS = 14


class _Results(pickle.Unpickler):
    """Evaluations saved by `python -m bench.calibration` name its classes as __main__'s."""

    def find_class(self, module: str, name: str):
        return super().find_class("bench.calibration" if module == "__main__" else module, name)


def flows(cases: list[Case], changes) -> tuple[int, int]:
    """Defects that entered and left Amazon's window of each case's 14th day in the 14 days after it, summed."""
    entered = left = 0
    defects = [change for change in changes if change[1][0] == "odr" and change[3]]  # once, not per case
    for case in cases:
        marketplace, metric, fulfillment = case.key
        first, end = definition(metric, fulfillment).window.days(case.at.date() + timedelta(days=DAYS))
        for instant, bucket, anchor, num, _ in defects:
            if (bucket == (metric, fulfillment, marketplace) and first <= anchor < end
                    and case.at < instant <= case.at + DAYS * DAY):
                entered, left = (entered + num, left) if num > 0 else (entered, left - num)
    return entered, left


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.odr_flows")
    parser.add_argument("--load", type=Path, required=True)
    parser.add_argument("--part", choices=("held_out", "tuning"), default="held_out")
    parser.add_argument("--band", type=_band, default=(0.4, 0.7), metavar="FROM,TO",
                        help="stated 14-day chances, TO excluded (default 0.4,0.7)")
    args = parser.parse_args(argv)
    low, high = args.band
    members = {m.profile.name: m for m in family(FAMILY_SIZE)}
    results = [r for r in _Results(args.load.open("rb")).load() if r.tuning == (args.part == "tuning")]
    count = entered = left = removed = 0
    expected = 0.0
    for r in results:
        end = r.monitor_from + r.months * 30 * DAY
        cases = [c for c in r.cases if c.key[1] == "odr" and c.level != "ok" and low <= c.p14 < high
                 and c.at + DAYS * DAY <= end]
        if not cases:
            continue
        local, amazon = account_views(members[r.name])
        gained, lost = flows(cases, amazon)
        count, entered, left = count + len(cases), entered + gained, left + lost
        removed += flows(cases, local)[1]  # the daemon's own view loses only negative feedback (removed)
        expected += sum(c.expected_new for c in cases)
    if not count:
        print("no ODR evaluation at warning or above in that band")
        return
    print(f"{count} ODR evaluations at warning or above stating {low:.0%}-{high:.0%} ({args.part}); per evaluation, in "
          f"the {DAYS} days after it, Amazon's window of the {DAYS}th day gained {entered / count:.2f} defects and "
          f"lost {left / count:.2f} ({removed / count:.2f} negative feedback removed, the rest claims denied or "
          f"withdrawn); the model expected {expected / count:.2f} new ones")


def _band(text: str) -> tuple[float, float]:
    try:
        low, high = (float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give two chances as FROM,TO, e.g. 0.4,0.7") from None
    if not 0 <= low < high <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: FROM must be below TO, both between 0 and 1")
    return low, high


if __name__ == "__main__":
    main()
