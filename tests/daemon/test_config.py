"""Config: the example loads as it is, every key is documented, errors name file, key and fix, secrets never show."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from dataclasses import fields, is_dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from daemon.app import policy_of
from daemon.config import Config, Secret, default_config, describe_config, load_config
from daemon.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"
SECRET_VALUE = "s3cr3t-value-that-must-never-show"
ENVIRON = {name: SECRET_VALUE for name in (
    "SELLER_SENTINEL_LWA_CLIENT_ID", "SELLER_SENTINEL_LWA_CLIENT_SECRET", "SELLER_SENTINEL_REFRESH_TOKEN",
    "SELLER_SENTINEL_SMTP_PASSWORD", "SELLER_SENTINEL_SLACK_WEBHOOK_URL", "SELLER_SENTINEL_WEBHOOK_SECRET",
    "SELLER_SENTINEL_GITHUB_TOKEN", "SELLER_SENTINEL_JIRA_TOKEN", "SELLER_SENTINEL_ZENDESK_TOKEN",
    "SELLER_SENTINEL_FRESHDESK_KEY")}
MINIMAL = '''
[[accounts]]
name = "main"
seller_id = "A2X"
marketplaces = ["ATVPDKIKX0DER"]
lwa_client_id_env = "ID"
lwa_client_secret_env = "SECRET"
refresh_token_file = "token.txt"
'''

TICKET = '''
[[channels]]
name = "github"
kind = "ticket"
tracker = "github"
repository = "acme/seller-ops"
token_env = "SECRET"
'''

JIRA = '''
[[channels]]
name = "jira"
kind = "ticket"
tracker = "jira"
url = "https://acme.atlassian.net/"
project = "OPS"
email = "bot@acme.example"
token_env = "SECRET"
priorities = { warning = "Medium", breach = "Highest" }
'''

ZENDESK = '''
[[channels]]
name = "zendesk"
kind = "ticket"
tracker = "zendesk"
url = "https://acme.zendesk.com"
email = "bot@acme.example"
token_env = "SECRET"
'''


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "token.txt").write_text(SECRET_VALUE + "\n")
    return path


def test_the_example_config_loads_as_it_is():
    config = load_config(EXAMPLE, ENVIRON)
    assert config.accounts[0].refresh_token.reveal() == SECRET_VALUE
    assert [c.kind for c in config.channels] == ["console", "file", "email", "slack", "webhook", "ticket", "ticket",
                                                    "ticket", "ticket"]
    assert config.alerts.margins_for("main", "ATVPDKIKX0DER", "odr").warning == 0.007
    assert config.alerts.margins_for("main", "A1PA6795UKMFR9", "odr").warning == 0.0075


def _keys(value, prefix=""):
    for key, item in value.items():
        if isinstance(item, dict):
            yield f"{prefix}{key}"
            yield from _keys(item, f"{prefix}{key}.")
        elif isinstance(item, list) and item and isinstance(item[0], dict):
            for entry in item:
                yield from _keys(entry, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def test_every_config_field_appears_in_the_example():
    text = EXAMPLE.read_text(encoding="utf-8")
    names = {key.rsplit(".", 1)[-1] for key in _keys(tomllib.loads(text))}
    names |= {line.split("=")[0].strip("# ") for line in text.splitlines() if "=" in line}
    # A secret key X is written as X_env or X_file.
    documented = names | {n.removesuffix("_env").removesuffix("_file") for n in names}
    missing = set()

    def walk(cls):
        for f in fields(cls):
            if f.name == "path":
                continue
            inner = f.type if isinstance(f.type, type) else None
            if inner and is_dataclass(inner):
                walk(inner)
            elif f.name not in documented and f.name not in ("daemon", "simulator", "accounts", "alerts", "channels",
                                                              "digests", "silences", "overrides", "margins"):
                missing.add(f.name)

    from daemon import config as module

    for cls in (module.DaemonConfig, module.SimulatorConfig, module.AccountConfig, module.AlertsConfig, module.Margins,
                module.ChannelConfig, module.DigestsConfig, module.SilenceConfig):
        walk(cls)
    assert missing == set()


def test_a_ticket_channel_is_read_with_its_defaults(tmp_path):
    [channel] = load_config(write(tmp_path, MINIMAL + TICKET), {"ID": "x", "SECRET": SECRET_VALUE}).channels
    assert (channel.tracker, channel.repository, channel.url, channel.reopen_days) == (
        "github", "acme/seller-ops", "https://api.github.com", 7)
    assert channel.token.reveal() == SECRET_VALUE and channel.close_on_resolve


def test_a_jira_data_center_channel_needs_no_e_mail_address(tmp_path):
    text = MINIMAL + JIRA.replace('email = "bot@acme.example"\n', 'edition = "data_center"\n')
    [channel] = load_config(write(tmp_path, text), {"ID": "x", "SECRET": SECRET_VALUE}).channels
    assert (channel.edition, channel.email, channel.token.reveal()) == ("data_center", "", SECRET_VALUE)


def test_a_jira_channel_is_read_with_its_defaults(tmp_path):
    [channel] = load_config(write(tmp_path, MINIMAL + JIRA), {"ID": "x", "SECRET": SECRET_VALUE}).channels
    assert (channel.tracker, channel.edition, channel.url, channel.project, channel.email, channel.issue_type) == (
        "jira", "cloud", "https://acme.atlassian.net", "OPS", "bot@acme.example", "Task")
    assert channel.priorities == (("warning", "Medium"), ("breach", "Highest"))
    assert (channel.close_transition, channel.reopen_transition, channel.reopen_days) == ("Done", "To Do", 7)


def test_a_zendesk_channel_is_read_with_its_defaults(tmp_path):
    text = MINIMAL + ZENDESK + 'assignees = ["oncall@acme.example"]\npriorities = { breach = "high" }\n'
    [channel] = load_config(write(tmp_path, text), {"ID": "x", "SECRET": SECRET_VALUE}).channels
    assert (channel.tracker, channel.url, channel.email, channel.assignees, channel.group_id) == (
        "zendesk", "https://acme.zendesk.com", "bot@acme.example", ("oncall@acme.example",), None)
    assert channel.priorities == (("breach", "high"),) and channel.token.reveal() == SECRET_VALUE


@pytest.mark.parametrize(("text", "expected"), [
    (MINIMAL.replace('seller_id = "A2X"\n', ""), "accounts[0] seller_id is missing"),
    (MINIMAL + "\n[daemon]\npoll_intervl_minutes = 5\n", "[daemon] poll_intervl_minutes is not a known key; did you mean poll_interval_minutes"),
    (MINIMAL + "\n[daemon]\npoll_interval_minutes = \"often\"\n", "poll_interval_minutes must be a number"),
    (MINIMAL + "\n[alerts.margins.odr]\nwarning = 0.009\ncritical = 0.008\n", "warning 0.009 and critical 0.008 are out of order"),
    (MINIMAL.replace('lwa_client_id_env = "ID"', 'lwa_client_id_env = "ID"\nlwa_client_id_file = "x"'), "lwa_client_id_env and lwa_client_id_file are both set"),
    (MINIMAL.replace('"ID"', '"NOT_SET_ANYWHERE"'), "names the environment variable NOT_SET_ANYWHERE, which is not set"),
    (MINIMAL.replace('"ATVPDKIKX0DER"', '"XX"'), "unknown marketplace id 'XX'"),
    (MINIMAL + "\n[[channels]]\nname = \"slack\"\nkind = \"slack\"\n", "channels[0] webhook_url is missing"),
    ("[daemon\n", "not valid TOML"),
    (MINIMAL + TICKET.replace('tracker = "github"', 'tracker = "trello"'),
     "channels[0] tracker is 'trello'; use github, jira, zendesk or freshdesk"),
    (MINIMAL + ZENDESK.replace('"zendesk"', '"freshdesk"') + 'priorities = { warning = "normal" }\n',
     "[channels[0] priorities] warning is 'normal'; use one of low, medium, high, urgent"),
    (MINIMAL + ZENDESK.replace('"zendesk"', '"freshdesk"') + 'assignees = ["a@b.example"]\n',
     "channels[0] assignees is not a known key"),
    (MINIMAL + ZENDESK.replace('email = "bot@acme.example"\n', ""), "channels[0] email is missing; set it to the e-mail"),
    (MINIMAL + ZENDESK + 'priorities = { breach = "Highest" }\n',
     "[channels[0] priorities] breach is 'Highest'; use one of low, normal, high, urgent"),
    (MINIMAL + ZENDESK + 'assignees = ["Ops team"]\n', "channels[0] assignees is ['Ops team']; give one agent's e-mail"),
    (MINIMAL + ZENDESK + 'labels = ["seller ops"]\n', "channels[0] labels holds 'seller ops'; Zendesk tags are single"),
    (MINIMAL + ZENDESK + "group_id = -3\n", "channels[0] group_id is -3; use the group's number"),
    (MINIMAL + TICKET.replace('tracker = "github"', 'tracker = "jira"'), "channels[0] url is missing; set it to the site's"),
    (MINIMAL + JIRA.replace('"OPS"', '"ops team"'), "channels[0] project is 'ops team'; use the project's key"),
    (MINIMAL + JIRA.replace('email = "bot@acme.example"\n', ""), "channels[0] email is missing"),
    (MINIMAL + JIRA + 'labels = ["seller ops"]\n', "channels[0] labels holds 'seller ops'; Jira labels are single words"),
    (MINIMAL + JIRA.replace("breach =", "breached ="), "[channels[0] priorities] breached is not a known key; did you mean breach"),
    (MINIMAL + JIRA + "repository = \"acme/x\"\n", "channels[0] repository is not a known key"),
    (MINIMAL + JIRA + "edition = \"server\"\n", "channels[0] edition is 'server'; use cloud (…atlassian.net) or data_center"),
    (MINIMAL + TICKET.replace('"acme/seller-ops"', '"acme"'), "channels[0] repository is 'acme'; write it as owner/name"),
    (MINIMAL + TICKET + "digests = true\n", "channels[0] digests is true; remove it"),
    (MINIMAL + TICKET.replace('token_env = "SECRET"\n', ""), "channels[0] token is missing"),
    (MINIMAL + "\n[alerts]\nworse_hold_hours = -1\n", "[alerts] worse_hold_hours is -1; use 0 (at once) or a number"),
    (MINIMAL + 'marketplaces_ship_together = "yes"\n', "accounts[0] marketplaces_ship_together must be true or false"),
])
def test_a_bad_config_names_file_key_and_fix(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(path, {"ID": "x", "SECRET": SECRET_VALUE})
    message = str(error.value)
    assert message.startswith(str(path)) and expected in message and "; " in message
    assert SECRET_VALUE not in message


def test_secrets_never_appear_in_repr_or_the_effective_config(tmp_path):
    config = load_config(write(tmp_path, MINIMAL), {"ID": SECRET_VALUE, "SECRET": SECRET_VALUE})
    assert config.accounts[0].refresh_token.reveal() == SECRET_VALUE  # read from a file relative to the config
    assert SECRET_VALUE not in repr(config)
    assert SECRET_VALUE not in describe_config(config)
    assert repr(Secret("x")) == "Secret(***)"


def test_the_embedded_default_runs_the_simulator_with_console_and_file_alerts(tmp_path):
    config = default_config(tmp_path)
    assert isinstance(config, Config) and config.simulator.enabled
    assert [c.kind for c in config.channels] == ["console", "file"]
    assert config.daemon.database_url == f"sqlite:///{tmp_path / 'seller-sentinel.db'}"


def test_check_config_exits_2_with_one_line_and_no_traceback(tmp_path):
    path = write(tmp_path, MINIMAL.replace('seller_id = "A2X"\n', ""))
    result = subprocess.run([sys.executable, "-m", "daemon.cli", "check-config", "--config", str(path)],
                            capture_output=True, text=True, cwd=ROOT, env={"PATH": "/usr/bin:/bin", "ID": "x", "SECRET": "y"})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert "seller_id is missing" in result.stderr


def test_a_chance_outside_zero_to_one_names_the_key_and_the_fix(tmp_path):
    path = write(tmp_path, MINIMAL + "\n[alerts]\nwarning_probability = 20\n")
    with pytest.raises(ConfigError) as error:
        load_config(path, {"ID": SECRET_VALUE, "SECRET": SECRET_VALUE})
    assert "warning_probability" in str(error.value) and "between 0 and 1" in str(error.value)


def test_margin_hysteresis_is_read_and_a_band_outside_zero_to_one_names_the_key_and_the_fix(tmp_path):
    path = write(tmp_path, MINIMAL + "\n[alerts]\nmargin_clear_band = 0.25\nmargin_clear_days = 3\n")
    config = load_config(path, {"ID": SECRET_VALUE, "SECRET": SECRET_VALUE})
    assert (config.alerts.hysteresis.band, config.alerts.hysteresis.days) == (0.25, 3)
    assert policy_of(config.alerts).clear_for == timedelta(days=3)
    path = write(tmp_path, MINIMAL + "\n[alerts]\nmargin_clear_band = 25\n")
    with pytest.raises(ConfigError) as error:
        load_config(path, {"ID": SECRET_VALUE, "SECRET": SECRET_VALUE})
    assert "margin_clear_band" in str(error.value) and "between 0 and 1" in str(error.value)


def test_a_secret_file_is_read_from_systemds_credentials_directory_when_the_unit_loaded_it(tmp_path):
    path = write(tmp_path, MINIMAL)  # refresh_token_file = "token.txt", beside the config: root's copy
    loaded = tmp_path / "run-credentials"
    loaded.mkdir()
    (loaded / "token.txt").write_text("the-services-copy\n")
    environ = {"ID": SECRET_VALUE, "SECRET": SECRET_VALUE}
    assert load_config(path, environ).accounts[0].refresh_token.reveal() == SECRET_VALUE
    in_unit = load_config(path, {**environ, "CREDENTIALS_DIRECTORY": str(loaded)})
    assert in_unit.accounts[0].refresh_token.reveal() == "the-services-copy"


def _account_file(directory: Path, name: str, extra: str = "") -> None:
    directory.mkdir(exist_ok=True)
    (directory / f"{name}.toml").write_text(f'''
seller_id = "A2{name.upper()}"
marketplaces = ["ATVPDKIKX0DER"]
lwa_client_id_env = "ID"
lwa_client_secret_env = "SECRET"
refresh_token_env = "TOKEN_{name.upper()}"
{extra}''', encoding="utf-8")


def test_an_agency_keeps_one_file_per_account_beside_the_accounts_of_the_main_file(tmp_path):
    for name in ("shop-b", "shop-a"):
        _account_file(tmp_path / "accounts.d", name)
    (tmp_path / "accounts.d" / "notes.txt").write_text("not an account")
    environ = {"ID": "id", "SECRET": "secret", "TOKEN_SHOP-A": "ta", "TOKEN_SHOP-B": "tb"}
    config = load_config(write(tmp_path, 'accounts_dir = "accounts.d"\n' + MINIMAL), environ)
    assert [a.name for a in config.accounts] == ["main", "shop-a", "shop-b"]  # file name is the account name
    assert config.accounts[1].refresh_token.reveal() == "ta" and config.accounts[2].seller_id == "A2SHOP-B"


def test_a_bad_account_file_names_itself_the_key_and_the_fix(tmp_path):
    _account_file(tmp_path / "accounts.d", "shop-a", 'region = "mars"')
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, 'accounts_dir = "accounts.d"\n' + MINIMAL), {"ID": "i", "SECRET": "s", "TOKEN_SHOP-A": "t"})
    message = str(error.value)
    assert "shop-a.toml" in message and "region" in message and "use na, eu or fe" in message
    _account_file(tmp_path / "accounts.d", "shop-a")  # mended
    _account_file(tmp_path / "accounts.d", "main")  # the name the main file already uses
    with pytest.raises(ConfigError, match="'main' is used twice"):
        load_config(write(tmp_path, 'accounts_dir = "accounts.d"\n' + MINIMAL), {"ID": "i", "SECRET": "s", "TOKEN_MAIN": "t", "TOKEN_SHOP-A": "t"})
    with pytest.raises(ConfigError, match="accounts_dir.*not a directory.*create it"):
        load_config(write(tmp_path, 'accounts_dir = "missing.d"\n' + MINIMAL), {"ID": "i", "SECRET": "s"})


@pytest.mark.parametrize("flags, level", [((), "DEBUG"), (("--log-level", "WARNING"), "WARNING")])
def test_the_configs_log_level_applies_unless_the_command_line_gives_one(tmp_path, flags, level):
    path = tmp_path / "config.toml"
    path.write_text('[daemon]\nstate_dir = "state"\nlog_level = "DEBUG"\n\n[simulator]\nenabled = true\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", "import logging, sys; from daemon.cli import main; main(sys.argv[1:]); "
                           "print(logging.getLevelName(logging.getLogger().level))", *flags, "check-config",
                           "--config", str(path)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == level
