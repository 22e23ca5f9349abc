"""How closely replays reproduce the independent implementation's rows, plain and against Amazon at its worst:
`python -m bench.replay_fidelity` (the README's "Reading real Amazon" table)."""
from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from daemon.replay import replay
from daemon.simulator.server import Faults

EXAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "scenarios" / "examples"
NAMES = ("low_volume_claims", "stockout", "odr_creep")


def differing_rows(name: str, faults: Faults | None) -> tuple[int, Counter, float]:
    """Rows replayed, rows whose numerator or denominator differ from the expected ones by metric, seconds taken."""
    expected = [json.loads(line) for line in (EXAMPLES / f"{name}.metrics.expected.jsonl").read_text().splitlines()]
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        replay(EXAMPLES / f"{name}.jsonl", Path(out), faults=faults)
        seconds = time.perf_counter() - started
        got = [json.loads(line) for line in (Path(out) / "metrics.jsonl").read_text().splitlines()]
    differ = Counter(e["metric"] for g, e in zip(got, expected)
                     if (g["numerator"], g["denominator"]) != (e["numerator"], e["denominator"]))
    return len(got), differ, seconds


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.ERROR)
    examples = Path(argv[0]) if argv else EXAMPLES
    globals()["EXAMPLES"] = examples
    print(f"{'example':18} {'rows':>5} {'plain: differ':>14} {'realistic: differ by metric':>40} {'plain s':>8} {'realistic s':>12}")
    for name in NAMES:
        rows, plain, plain_s = differing_rows(name, None)
        _, rude, rude_s = differing_rows(name, Faults.realistic())
        print(f"{name:18} {rows:>5} {sum(plain.values()):>14} {json.dumps(dict(sorted(rude.items()))):>40} "
              f"{plain_s:>8.1f} {rude_s:>12.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
