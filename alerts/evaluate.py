"""Value against Amazon's limit, the seller's margins and the chance of a breach: level, defects to breach, and why. Pure."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone

from alerts.breach import RECENT_CLAIMS_DAYS, Outlook, chance_text, outlook
from alerts.lag import DefectAges
from alerts.removal import Removals
from alerts.metrics.definitions import MetricDefinition
from alerts.model import Level
from alerts.series import DaySeries, Projection, pending
from alerts.unreported import Unreported

LOW_VOLUME_ORDERS = 100  # METRICS.md, last section: say so when fewer orders are in the window
# The metrics whose rate is the seller's and not a marketplace's: one place ships every marketplace's orders, so a
# backlog shows in all of them at once, and a marketplace with few orders shows it late (README, "A backlog is the
# seller's, not a marketplace's").
SELLER_RATE_METRICS = frozenset({"lsr_10d", "lsr_30d"})

SHORT_NAMES = {"odr": "ODR", "lsr_10d": "LSR 10d", "lsr_30d": "LSR 30d", "cr_7d": "Cancel rate",
               "vtr_30d": "VTR", "otdr_14d": "OTDR"}
DEFECT_WORDS = {
    "odr": ("defective order", "defective orders"), "lsr_10d": ("late shipment", "late shipments"),
    "lsr_30d": ("late shipment", "late shipments"), "cr_7d": ("seller cancellation", "seller cancellations"),
    "vtr_30d": ("shipment without valid tracking", "shipments without valid tracking"),
    "otdr_14d": ("late-delivered unit", "late-delivered units"),
}


def defects(metric: str, count: int) -> str:
    """'1 defective order', '3 defective orders'."""
    singular, plural = DEFECT_WORDS.get(metric, ("defect", "defects"))
    return f"{count} {singular if count == 1 else plural}"
ADVICE = {
    "odr": ("Answer open A-to-z claims and buyer messages today; refund or replace before a claim is filed.",
            "Ask Amazon to remove feedback that is about FBA fulfilment or product reviews."),
    "lsr_10d": ("Confirm shipment of every unshipped order due today, and raise handling time on slow SKUs.",),
    "lsr_30d": ("Confirm shipment of every unshipped order due today, and raise handling time on slow SKUs.",),
    "cr_7d": ("Fix stock levels so orders are not cancelled for lack of inventory; pause listings that are out of stock.",),
    "vtr_30d": ("Use a supported carrier and enter its tracking number when confirming shipment (Buy Shipping does both).",),
    "otdr_14d": ("Use faster shipping services or lengthen the transit time in your shipping settings.",),
}


@dataclass(frozen=True)
class Thresholds:
    """The seller's margins for one metric: rates (fractions) and/or defects left before the limit."""

    warning_rate: float | None = None
    critical_rate: float | None = None
    warning_defects_left: int | None = None
    critical_defects_left: int | None = None


@dataclass(frozen=True)
class Chances:
    """Where the chance of a breach raises the level: critical when P(breach within critical_days) reaches
    critical_probability, warning likewise. Defaults chosen on the bench family's tuning part (README)."""

    critical_probability: float = 0.5
    critical_days: int = 3
    warning_probability: float = 0.15
    warning_days: int = 14


@dataclass(frozen=True)
class Observation:
    """Everything known about one metric at an evaluation instant."""

    definition: MetricDefinition
    marketplace_id: str
    at: datetime
    numerator: int
    denominator: int
    series: DaySeries
    unattributed: int = 0  # in Amazon's report but not attributable through the API (open claims, chargebacks)
    recent_claims: int = 0  # how many of them Amazon's count gained in the last RECENT_CLAIMS_DAYS (alerts/breach.py)
    granted_claims: int = 0  # claims and chargebacks of Amazon's window the daemon saw granted
    # Late-shipment rates: unshipped seller-fulfilled orders in the window past their ship-by date, by that date. They
    # can only end as late shipments, which the daemon sees only once they ship.
    past_due: Mapping[date, int] = field(default_factory=dict)
    # The orders of anchor days to come (today on) bought and still open (late-shipment rates: unshipped; on-time
    # delivery: not cancelled, in units), by that day, and the seller's recent orders by the days from purchase day to
    # anchor day: the next days' orders bought already (alerts/breach.py).
    pending: Mapping[date, int] = field(default_factory=dict)
    anchor_leads: Mapping[int, int] = field(default_factory=dict)
    amazon_value: float | None = None
    enforced: bool = True
    claims_unknown: bool = False  # Amazon's report left out its claim or chargeback counts: open claims are unknown
    defect_ages: DefectAges = field(default_factory=dict)  # ODR: when the account's defects appeared (alerts/lag.py)
    removals: Removals = field(default_factory=dict)  # ODR: the account's defects removed since (alerts/removal.py)
    # Late-shipment rates: shipments seen that Amazon's report does not show yet (alerts/unreported.py).
    unreported: Unreported = field(default_factory=dict)
    # The day from which the daemon's own count covers the whole window; before it (deliveries made before the
    # installation, which nothing bounds, are left out) the metric is judged on Amazon's report alone.
    whole_from: date | None = None
    reading_history: bool = False  # a first start is still reading the orders of this window: judged on Amazon's report
    # On-time delivery counts units, and an order's units arrive late together: the seller's recent orders by their
    # units (alerts/breach.py). Empty: every unit alone.
    order_quantities: Mapping[int, int] = field(default_factory=dict)
    # The seller's days of this metric, its marketplaces summed (`with_seller_days`); none: the marketplace's own.
    seller_days: DaySeries | None = None

    @property
    def overdue(self) -> int:
        """The past-due orders: certain to enter the late-shipment rate's numerator and denominator."""
        return sum(self.past_due.values())


@dataclass(frozen=True)
class Evaluation:
    level: Level
    value: float | None
    limit: float
    numerator: int
    denominator: int
    defects_to_breach: int | None
    forecast_breach_at: datetime | None  # the median day of Amazon's figure crossing, within the horizon
    breach_probability: float | None  # P(Amazon's figure over the limit within probability_days)
    probability_days: int
    outlook: Outlook | None  # the whole horizon, day by day; None with no orders in the window
    headline: str
    explanation: tuple[str, ...]
    advice: tuple[str, ...]
    low_volume: bool
    amazon_value: float | None


def with_seller_days(observations: Sequence[Observation]) -> list[Observation]:
    """The observations of one account at one instant, each of a `SELLER_RATE_METRICS` metric given its seller's days:
    the metric's days and past-due orders (late shipments to come) summed over the account's marketplaces. An account
    of one marketplace is its own seller and gets none."""
    summed: dict[tuple[str, str], dict[date, tuple[int, int]]] = {}
    marketplaces: dict[tuple[str, str], set[str]] = {}
    for obs in observations:
        d = obs.definition
        if d.id not in SELLER_RATE_METRICS:
            continue
        key = (d.id, d.fulfillment)
        days = summed.setdefault(key, {})
        marketplaces.setdefault(key, set()).add(obs.marketplace_id)
        for day, (num, den) in obs.series.counts.items():
            before = days.get(day, (0, 0))
            days[day] = (before[0] + num, before[1] + den)
        for day, late in obs.past_due.items():
            before = days.get(day, (0, 0))
            days[day] = (before[0] + late, before[1] + late)
    shared = {key: DaySeries(days) for key, days in summed.items() if len(marketplaces[key]) > 1}
    out = []
    for obs in observations:
        days = shared.get((obs.definition.id, obs.definition.fulfillment))
        out.append(obs if days is None else replace(obs, seller_days=days))
    return out


def evaluate(obs: Observation, thresholds: Thresholds, horizon_days: int, chances: Chances = Chances()) -> Evaluation:
    """Level, defects to breach and the chance of a breach of one metric, with one sentence per reason."""
    d = obs.definition
    upper = d.limit.direction == "upper"
    num = obs.numerator + (obs.unattributed if upper else 0)
    den = obs.denominator
    value = num / den if den else None
    today = obs.at.date()
    if obs.reading_history or (obs.whole_from is not None and today < obs.whole_from):
        return _on_amazons_report(obs, thresholds, num, den, chances)
    dtb = d.limit.defects_to_breach(num, den) if den else None
    open_claims = obs.unattributed if upper else 0
    level_now = _level_now(d, thresholds, num, den, dtb) if den else Level.OK
    near = level_now.rank >= Level.WARNING.rank
    ahead = outlook(obs.series, d, today, horizon_days, obs.marketplace_id, open_claims, obs.recent_claims,
                    obs.granted_claims, obs.defect_ages, screen=not near, past_due=obs.past_due, removals=obs.removals,
                    unreported=obs.unreported, order_quantities=obs.order_quantities, pending=obs.pending,
                    anchor_leads=obs.anchor_leads, seller_days=obs.seller_days) if den else None
    low_volume = 0 < den < LOW_VOLUME_ORDERS

    level = level_now if obs.enforced else Level.OK
    # Over the limit by the daemon's own count is a breach once Amazon's figure, the one that suspends, shows it or is
    # likely to within the critical days; until then it is a warning. Amazon counts a late shipment days after it
    # happens, so a short burst over the limit can leave the 10-day window before Amazon's figure ever shows it.
    ahead_of_amazon = level == Level.BREACH and not _amazon_shows(obs, ahead, chances)
    if ahead_of_amazon:
        level = Level.WARNING
    if ahead is not None and obs.enforced and level.rank < Level.CRITICAL.rank:
        if ahead.within(chances.critical_days) >= chances.critical_probability:
            level = Level.CRITICAL
        elif level == Level.OK and ahead.within(chances.warning_days) >= chances.warning_probability:
            level = Level.WARNING
    # A metric already over the limit has no crossing ahead of it: the forecast is for metrics still inside.
    median = ahead.crossing_day() if ahead is not None and dtb else None
    breach_day = today + timedelta(days=median) if median is not None else None
    days = chances.critical_days if level == Level.CRITICAL else chances.warning_days
    probability = ahead.within(days) if ahead is not None else None
    explanation = _explain(obs, num, den, dtb, ahead, days, low_volume)
    if ahead_of_amazon:
        explanation += (_ahead_of_amazon_sentence(ahead, chances.critical_days, today),)
    return Evaluation(
        level=level, value=value, limit=d.limit.value, numerator=num, denominator=den, defects_to_breach=dtb,
        forecast_breach_at=_midnight(breach_day), breach_probability=probability, probability_days=days, outlook=ahead,
        headline=_headline(d, value, dtb, probability if dtb and (probability or near) else None, days, today,
                           ahead_of_amazon),
        explanation=explanation, advice=ADVICE.get(d.id, ()), low_volume=low_volume, amazon_value=obs.amazon_value,
    )


def _on_amazons_report(obs: Observation, thresholds: Thresholds, num: int, den: int, chances: Chances) -> Evaluation:
    """A window the daemon has not seen whole: Amazon's figure decides the level; the daemon's own count is shown
    beside it and raises nothing by itself, and no chance is worked out from a partial count."""
    d = obs.definition
    name = SHORT_NAMES.get(d.id, d.id)
    ours = f"our own count {_pct(num / den)} ({num} of {den})" if den else "no count of our own yet"
    if obs.reading_history:
        ours_from = "once the order history is read"
        why = (f"{name} is judged on Amazon's report until the order history has been read: a first start reads the "
               f"recent days' orders first, so {ours} covers only part of the window.")
    else:
        until = obs.whole_from.strftime("%-d %B") if obs.whole_from else ""
        ours_from = f"from {until}"
        why = (f"{name} is judged on Amazon's report until {until}, when our own count covers the whole window: "
               f"deliveries made before the daemon was installed cannot be dated, so {ours} leaves some out.")
    amazon = obs.amazon_value
    level = _level_of_rate(d, thresholds, amazon) if amazon is not None and obs.enforced else Level.OK
    figure = f"{_pct(amazon)} on Amazon's report" if amazon is not None else "no figure from Amazon yet"
    explanation = (
        why,
        f"Amazon's own figure: {figure}, against a limit of {_pct(d.limit.value)}.",
    )
    if not obs.enforced:
        explanation += (f"Amazon does not enforce {name} in this marketplace; shown for information.",)
    headline = f"{name} {figure} (limit {_pct(d.limit.value)}); our own count {ours_from}"
    return Evaluation(
        level=level, value=amazon, limit=d.limit.value, numerator=num, denominator=den, defects_to_breach=None,
        forecast_breach_at=None, breach_probability=None, probability_days=chances.warning_days, outlook=None,
        headline=headline, explanation=explanation, advice=ADVICE.get(d.id, ()), low_volume=False, amazon_value=amazon,
    )


def _level_of_rate(d: MetricDefinition, thresholds: Thresholds, rate: float) -> Level:
    """The level a published rate alone sets: breach at the limit, warning past the warning margin."""
    def past(threshold: float) -> bool:
        return rate >= threshold if d.limit.direction == "upper" else rate < threshold

    if past(d.limit.value):
        return Level.BREACH
    if thresholds.warning_rate is not None and past(thresholds.warning_rate):
        return Level.WARNING
    return Level.OK


def _amazon_shows(obs: Observation, ahead: Outlook | None, chances: Chances) -> bool:
    """Amazon's own figure is over the limit, or likely to be within the critical days."""
    limit = obs.definition.limit
    if obs.amazon_value is not None:
        upper = limit.direction == "upper"
        if obs.amazon_value >= limit.value if upper else obs.amazon_value < limit.value:
            return True
    return ahead is None or ahead.within(chances.critical_days) >= chances.critical_probability


def _ahead_of_amazon_sentence(ahead: Outlook, days: int, today: date) -> str:
    when = (today + timedelta(days=days)).strftime("%-d %B")
    return (f"Over the limit by the daemon's own count. Amazon counts these facts days later, when some have left the "
            f"window: the chance that its figure, the one that suspends, is over the limit by {when} ({days} days) is "
            f"{chance_text(ahead.within(days))}.")


def _level_now(d: MetricDefinition, t: Thresholds, num: int, den: int, dtb: int | None) -> Level:
    if d.limit.breached(num, den):
        return Level.BREACH
    rate = num / den
    upper = d.limit.direction == "upper"

    def crosses(threshold: float | None) -> bool:
        if threshold is None:
            return False
        return rate >= threshold if upper else rate < threshold

    def within(left: int | None) -> bool:
        return left is not None and dtb is not None and dtb <= left

    if crosses(t.critical_rate) or within(t.critical_defects_left):
        return Level.CRITICAL
    # With few orders a single defect is the whole margin: "one more breaches" is always worth a warning.
    one_from_breach = upper and dtb == 1
    if crosses(t.warning_rate) or within(t.warning_defects_left) or one_from_breach:
        return Level.WARNING
    return Level.OK


def _explain(obs: Observation, num: int, den: int, dtb: int | None, ahead: Outlook | None, days: int,
             low_volume: bool) -> tuple[str, ...]:
    d = obs.definition
    name = SHORT_NAMES.get(d.id, d.id)
    upper = d.limit.direction == "upper"
    if not den:
        return (f"No orders in the {name} window yet.",)
    out = [f"{name} is {_pct(num / den)} against a limit of {_pct(d.limit.value)} ({num} of {den})."]
    if dtb:
        out.append(f"{defects(d.id, dtb).replace(' ', ' more ', 1)} in the window {'breaches' if dtb == 1 else 'breach'} the limit.")
    if obs.unattributed and upper:
        claims = "open A-to-z claim or chargeback" if obs.unattributed == 1 else "open A-to-z claims or chargebacks"
        lately = min(obs.recent_claims, obs.unattributed)
        since = f"; {lately} of them came in the last {RECENT_CLAIMS_DAYS} days" if lately and obs.unattributed > 1 else ""
        out.append(f"{obs.unattributed} {claims} in Amazon's report {'is' if obs.unattributed == 1 else 'are'} counted "
                   f"too{since}.")
    if obs.claims_unknown and upper:
        out.append("Amazon's latest report left out its claim and chargeback counts, so open claims are not included.")
    out.extend(_pending_sentences(obs, name, num, den, pending(obs.series, d, obs.at.date(), (obs.overdue, obs.overdue))))
    if ahead is not None and dtb:
        out.append(_chance_sentence(d.id, ahead, days, obs.at.date()))
    if low_volume and dtb == 1:
        word = DEFECT_WORDS.get(d.id, ("defect",))[0]
        out.append(f"With {den} orders in the window, one order decides: one more {word} breaches the limit.")
    elif low_volume:
        out.append(f"Under {LOW_VOLUME_ORDERS} orders in the window ({den}): each defect moves the rate by "
                   f"{_pct(1 / den)}.")
    if obs.amazon_value is not None:
        out.append(f"Amazon's own figure: {_pct(obs.amazon_value)}.")
    if not obs.enforced:
        out.append(f"Amazon does not enforce {name} in this marketplace; shown for information.")
    return tuple(out)


def _pending_sentences(obs: Observation, name: str, num: int, den: int, ahead: Projection) -> list[str]:
    """What the days already known bring into the window, with no new order."""
    d = obs.definition
    out = []
    entering = ahead.numerator - num
    when = ahead.day.strftime("%-d %B")
    if d.window.offset_days and entering > 0 and ahead.denominator:
        out.append(f"{defects(d.id, entering)} on orders from the last {d.window.offset_days} days will enter the window by "
                   f"{when}: {name} will reach {_pct(ahead.numerator / ahead.denominator)}.")
    elif obs.overdue and ahead.denominator:
        out.append(f"{obs.overdue} unshipped orders are past their ship-by date and can only end as late shipments: "
                   f"{name} would reach {_pct(ahead.numerator / ahead.denominator)}.")
    if (d.window.offset_days and d.limit.direction == "upper" and ahead.denominator and ahead.denominator < den * 0.9
            and entering <= 0):
        out.append(f"The window shrinks from {den} to {ahead.denominator} orders by {when}: the rate rises to "
                   f"{_pct(ahead.numerator / ahead.denominator)} with no new defect.")
    return out


def _chance_sentence(metric: str, ahead: Outlook, days: int, today: date) -> str:
    """'62% chance that Amazon's figure crosses the limit by 8 May (7 days), most likely around 5 May: about 2 more
    late shipments expected from ~140 new orders.'"""
    when = (today + timedelta(days=days)).strftime("%-d %B")
    expected = round(ahead.expected_defects[days - 1])
    orders = round(ahead.expected_orders[days - 1])
    singular, plural = DEFECT_WORDS.get(metric, ("defect", "defects"))
    chance = chance_text(ahead.within(days))
    text = f"The chance that Amazon's figure crosses the limit by {when} ({days} days) is {chance}"
    crossing = ahead.crossing_day()
    if crossing is not None:
        text += f", most likely around {(today + timedelta(days=crossing)).strftime('%-d %B')}"
    if orders:
        return text + f": about {expected} more {singular if expected == 1 else plural} expected from ~{orders} new orders."
    return text + f": about {expected} more {singular if expected == 1 else plural} expected on orders already placed."


def _headline(d: MetricDefinition, value: float | None, dtb: int | None, probability: float | None, days: int,
              today: date, ahead_of_amazon: bool = False) -> str:
    name = SHORT_NAMES.get(d.id, d.id)
    text = f"{name} {_pct(value)} of {_pct(d.limit.value)}"
    if dtb == 0:
        text += ": over the limit by the daemon's count, not yet in Amazon's figure" if ahead_of_amazon else ": over the limit"
    elif dtb is not None:
        text += f"; {defects(d.id, dtb).replace(' ', ' more ', 1)} in the window and you breach"
    if probability is not None:
        text += f"; {chance_text(probability)} chance of a breach by {(today + timedelta(days=days)).strftime('%-d %B')}"
    return text


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.2f}%"


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(0), tzinfo=timezone.utc)

