"""The adapter config: wrong shapes of `adapter` are located errors naming the key, the file is
a bounded regular file, and a live collector that cannot start names the path it failed on."""

from __future__ import annotations

from pathlib import Path

import pytest

from iscsiprf.ipsec import config as config_module
from iscsiprf.ipsec.config import ConfigError, load_config, parse_config
from iscsiprf.serve.source import SourceError, open_live_source


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('adapter = ["a", "b"]\n',
         "c.toml:1:1: error: adapter must be [[adapter]] tables; item 1 is a string"),
        ('# adapters\n\nadapter = [{device = "ROOT\\\\X\\\\0001"}, 3]\n',
         "c.toml:3:1: error: adapter must be [[adapter]] tables; item 2 is a number"),
        ('adapter = "charon"\n', "c.toml:1:1: error: adapter must be [[adapter]] tables, found a string"),
        ("adapter = 4\n", "c.toml:1:1: error: adapter must be [[adapter]] tables, found a number"),
        ("adapter = 1979-05-27\n",
         "c.toml:1:1: error: adapter must be [[adapter]] tables, found a date or time"),
        ('[adapter]\ndevice = "ROOT\\\\X\\\\0001"\n',
         "c.toml:1:2: error: adapter must be [[adapter]] tables (write [[adapter]], not [adapter])"),
        ("adapter = []\n", "c.toml:1:1: error: no [[adapter]] table"),
        ('[[adapter]]\ndevice = ["a"]\n', "c.toml:2:1: error: device must be a non-empty string"),
    ],
)  # fmt: skip
def test_wrong_shapes_are_located_errors(text: str, error: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, "c.toml")
    assert str(err.value) == error


def test_an_integer_too_long_to_convert_is_located() -> None:
    text = '[[adapter]]\ndevice = "1234567890123456789012345" # 99999\nnetns = ' + "9" * 5000 + "\n"
    with pytest.raises(ConfigError) as err:
        parse_config(text, "c.toml")
    assert str(err.value) == "c.toml:3:9: error: integer of 5,000 digits is too long"


def test_inline_adapter_tables_are_still_read() -> None:
    (adapter,) = parse_config('adapter = [{device = "ROOT\\\\X\\\\0001"}]\n', "c.toml")
    assert adapter.device == "ROOT\\X\\0001"


def test_a_device_is_not_read_as_a_config() -> None:
    with pytest.raises(ConfigError) as err:
        load_config("/dev/zero")
    assert str(err.value) == "/dev/zero:1:1: error: cannot read: not a regular file"


def test_a_config_over_the_size_bound_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[[adapter]]\n" + "# padding\n" * 200)
    monkeypatch.setattr(config_module, "MAX_CONFIG_BYTES", 1000)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}:1:1: error: larger than 0 MiB, the most a config may be"


def test_a_collector_that_cannot_start_names_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    state = blocker / "sub" / "state.sqlite"
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[[adapter]]\nvici = "unix://{tmp_path}/none.vici"\n'
        f'error_notify = "unix://{tmp_path}/none.enfy"\nstate = "{state}"\n'
    )
    with pytest.raises(SourceError) as err:
        open_live_source(cfg)
    assert str(err.value) == (
        f"cannot start the live collector: {blocker / 'sub'}: Not a directory"
    )
