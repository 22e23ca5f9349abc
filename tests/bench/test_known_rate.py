"""The known-rate bench: the seller's realised rate counted right, and the model's belief swapped only inside it."""
from datetime import date, timedelta

import pytest

import bench.calibration
from alerts import breach
from alerts.metrics.definitions import METRICS
from bench.known_rate import main, rate_known, realised_rate, steady_sellers
from daemon.clock import parse_instant
from daemon.simulator.generator import generate_events

DAY = timedelta(days=1)
LSR_30D = next(d for d in METRICS if d.id == "lsr_30d")


@pytest.fixture(autouse=True)
def cache_in(tmp_path, monkeypatch):
    monkeypatch.setattr(bench.calibration, "CACHE", tmp_path)


def test_realised_rate_is_the_share_of_shipments_confirmed_after_their_ship_by_time():
    member = steady_sellers(1, volume=6, rate=0.05)[0]
    end = member.profile.start + member.profile.days * DAY
    ship_by, cancelled, late, shipped = {}, set(), 0, 0
    for at, event in generate_events(member.profile, member.seed):
        if event["type"] == "order" and event["channel"] == "MFN":
            if parse_instant(event["latest_ship_date"]).date() < end.date():  # a ship-by day of the account's life
                ship_by[event["order_id"]] = parse_instant(event["latest_ship_date"])
        elif event["type"] == "cancel":
            cancelled.add(event["order_id"])
        elif event["type"] == "ship" and event["order_id"] in ship_by and event["order_id"] not in cancelled:
            shipped += 1
            late += at > ship_by[event["order_id"]]
    assert shipped > 1000 and late > 0
    assert realised_rate(member) == pytest.approx(late / shipped)


def test_the_rate_is_known_inside_and_believed_again_after():
    believed = breach._rate_belief
    history = {date(2026, 5, day): (0, 10) for day in range(1, 31)}
    with rate_known(0.03):
        belief = breach._rate_belief(LSR_30D, history, date(2026, 6, 1), lambda age: 1.0, True)
        assert belief.mean_by_offset([0, 10])[0] == pytest.approx(0.03)
    assert breach._rate_belief is believed
    with pytest.raises(RuntimeError), rate_known(0.03):
        raise RuntimeError("an evaluation failed")
    assert breach._rate_belief is believed


def test_the_report_judges_every_selection_of_the_evaluations(capsys):
    main(["--accounts", "2", "--volume", "4", "--rate", "0.03", "--jobs", "1"])
    out = capsys.readouterr().out
    assert out.startswith("2 steady sellers, 4 orders a day, late-shipment rate 3%")
    for selection in ("every evaluation inside the limit", "at warning or above", "that sent a notice"):
        assert f"  {selection}: 0-10%: " in out


def test_on_time_delivery_is_judged_with_the_rate_known_or_with_the_models_own_belief(capsys):
    otdr = next(d for d in METRICS if d.id == "otdr_14d")
    seller = steady_sellers(1, volume=6, rate=0.05, drawn="late_delivery")[0]
    assert seller.profile.rates.late_delivery == 0.05
    assert 0.035 < realised_rate(seller, otdr) < 0.065  # late units over units: an order's units are late together
    for flags, judged in (([], "the rate known"), (["--believed"], "the model's own belief")):
        main(["--metric", "otdr_14d", *flags, "--accounts", "1", "--volume", "4", "--rate", "0.05", "--jobs", "1"])
        out = capsys.readouterr().out
        assert out.startswith("1 steady sellers, 4 orders a day, late-delivery rate 5% (realised: ")
        assert f"otdr_14d with {judged}" in out and "  that sent a notice: " in out
    with pytest.raises(SystemExit):
        main(["--metric", "otdr_14d", "--exact"])
