"""`set_target`: edits keep comments, write a backup, keep the sum at 100%, and never write an
invalid config."""

from decimal import Decimal

import pytest

from keeper.config import load_config
from keeper.config.edit import set_target
from keeper.errors import ConfigError


def test_set_target__take_from__both_changed_comments_kept_backup_written(config_copy):
    before = config_copy.read_text()
    result = set_target(config_copy, "BTC", "17%", take_from="USDC")
    after = config_copy.read_text()
    assert {(c.asset, c.old, c.new) for c in result.changes} == {
        ("BTC", "15%", "17%"),
        ("USDC", "16%", "14%"),
    }
    assert result.backup.read_text() == before
    assert "# seed 000: keep a minimum $10,000 cash reserve" in after
    assert "# ERC-4626, valued via convertToAssets" in after
    spec = load_config(config_copy).spec
    assert spec.asset("BTC").target == Decimal("0.17") and spec.asset("USDC").target == Decimal(
        "0.14"
    )
    # only the two target lines changed
    diff = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=False) if a != b]
    assert len(diff) == 2 and len(before.splitlines()) == len(after.splitlines())


def test_set_target__scale_others__sum_stays_100(config_copy):
    set_target(config_copy, "BTC", "25", scale_others=True)  # a bare number means % here
    spec = load_config(config_copy).spec
    assert spec.asset("BTC").target == Decimal("0.25")
    assert sum(a.target for a in spec.assets) == 1


def test_set_target__sum_broken_without_option__refused_file_untouched(config_copy):
    before = config_copy.read_text()
    with pytest.raises(
        ConfigError, match="add up to 102%, not 100%: pass --take-from ASSET or --scale-others"
    ):
        set_target(config_copy, "BTC", "17%")
    assert config_copy.read_text() == before
    assert not config_copy.with_name("keeper.yaml.bak").exists()


def test_set_target__result_breaks_another_rule__refused_file_untouched(config_copy):
    before = config_copy.read_text()
    with pytest.raises(ConfigError, match="max_single_asset"):
        set_target(config_copy, "BTC", "30%", take_from="USDC")  # above the 25% cap
    assert config_copy.read_text() == before


def test_set_target__unknown_asset__did_you_mean(config_copy):
    with pytest.raises(ConfigError, match="did you mean 'BTC'"):
        set_target(config_copy, "BTCC", "10%", take_from="USDC")


def test_set_target__take_more_than_there_is__refused(config_copy):
    with pytest.raises(ConfigError, match="has only 2% to give"):
        set_target(config_copy, "BTC", "20%", take_from="USD")


def test_set_target__seed001_file__edits_its_targets(tmp_path):
    p = tmp_path / "seed.yaml"
    p.write_text(
        "portfolio_rebalancer:\n  targets:\n    BTC: 40%  # core\n    ETH: 25%\n    USDC: 35%\n"
    )
    set_target(p, "BTC", "45%", take_from="USDC")
    text = p.read_text()
    assert "BTC: 45%  # core" in text and "USDC: 30%" in text
