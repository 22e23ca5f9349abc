"""The simulated seller's virtual time survives a restart, and a finished scenario stays finished."""
from datetime import timedelta

from daemon.simulator.clockfile import CLOCK_FILE, remember, resume_point
from tests.daemon.scenarios import small_account

SCENARIO = small_account()


def test_a_restart_goes_on_from_where_the_last_run_got_to(tmp_path):
    assert resume_point(tmp_path, SCENARIO) == SCENARIO.monitor_from  # nothing kept yet
    reached = SCENARIO.monitor_from + timedelta(hours=3)  # the small account is monitored for one day
    remember(tmp_path, SCENARIO, reached)
    assert resume_point(tmp_path, SCENARIO) == reached
    remember(tmp_path, SCENARIO, SCENARIO.end + timedelta(hours=20))  # stopped in the day of grace after the end
    assert resume_point(tmp_path, SCENARIO) == SCENARIO.end


def test_another_scenario_or_a_damaged_file_starts_at_installation(tmp_path):
    remember(tmp_path, SCENARIO, SCENARIO.monitor_from + timedelta(hours=5))
    other = small_account(seed=4)
    assert resume_point(tmp_path, other) == other.monitor_from
    (tmp_path / CLOCK_FILE).write_text("{not json")
    assert resume_point(tmp_path, SCENARIO) == SCENARIO.monitor_from
