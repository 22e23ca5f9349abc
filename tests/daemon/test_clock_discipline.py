"""Time comes from an injected Clock: nothing outside daemon/clock.py reads the wall clock or sleeps."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = re.compile(r"datetime\.now\(|datetime\.utcnow\(|time\.time\(|time\.sleep\(|date\.today\(|time\.monotonic\(")
ALLOWED = {ROOT / "daemon" / "clock.py"}


def test_no_module_reads_the_wall_clock_except_clock_py():
    offenders = []
    for package in ("daemon", "alerts", "storage"):
        for path in (ROOT / package).rglob("*.py"):
            if path in ALLOWED:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if FORBIDDEN.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_check_itself_catches_a_wall_clock_read():
    assert FORBIDDEN.search("stamp = datetime.now(timezone.utc)")
    assert FORBIDDEN.search("time.sleep(5)")
