from __future__ import annotations

import pytest

from triwarn.services.runtime.settings import Settings, SettingsError


def test_environment_then_flags() -> None:
    env = {"TRIWARN_NATION": "jp", "TRIWARN_UPDATE_PERIOD_S": "0.5", "TRIWARN_SCENARIO_LOOP": "true"}
    s = Settings.load(env=env)
    assert (s.nation, s.update_period_s, s.scenario_loop) == ("jp", 0.5, True)
    assert s.effective_node_id == "jp-c2"
    assert Settings.load(env=env, nation="kr", update_period_s=None).nation == "kr"  # a flag wins; None = not given


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"TRIWARN_NATION": "cn"}, "nation must be one of us, jp, kr"),
        ({"TRIWARN_UPDATE_PERIOD_S": "fast"}, "TRIWARN_UPDATE_PERIOD_S='fast' is not a valid float"),
        ({"TRIWARN_SCENARIO_LOOP": "maybe"}, "is not a valid bool"),
        ({"TRIWARN_BROKER_URL": "localhost:1883"}, "mqtt://HOST:PORT"),
        ({"TRIWARN_CLOCK_SPEED": "0"}, "clock_speed must be positive"),
        ({"TRIWARN_CLOCK_SPEED": "5"}, "clock_speed other than 1 needs scenario_t0_ns"),
    ],
)
def test_bad_settings_name_the_setting_and_what_is_expected(env: dict[str, str], words: str) -> None:
    with pytest.raises(SettingsError, match=words.replace("(", r"\(").replace(")", r"\)")):
        Settings.load(env=env)
