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
        ({"TRIWARN_NODE_REGISTRY": "us"}, "is not NATION=ID,ID"),
        ({"TRIWARN_NODE_REGISTRY": "cn=cn-c2"}, "node_registry names unknown nations"),
        ({"TRIWARN_SUBSCRIBER_MAX_LAG_S": "-1"}, "subscriber_max_lag_s must be >= 0"),
        ({"TRIWARN_MQTT_MAX_PACKET_BYTES": "4194304"}, "mqtt_max_packet_bytes must be 0 or larger than max_payload"),
        ({"TRIWARN_MQTT_SESSION_EXPIRY_S": "-1"}, "mqtt_session_expiry_s must be >= 0"),
    ],
)
def test_bad_settings_name_the_setting_and_what_is_expected(env: dict[str, str], words: str) -> None:
    with pytest.raises(SettingsError, match=words.replace("(", r"\(").replace(")", r"\)")):
        Settings.load(env=env)


def test_the_node_registry_defaults_to_the_demo_nodes_and_reads_from_the_environment() -> None:
    default = Settings.load(env={})
    assert default.node_registry == {"us": ("us-c2",), "jp": ("jp-c2",), "kr": ("kr-c2",)}
    s = Settings.load(env={"TRIWARN_NODE_REGISTRY": "us=us-c2, us-aegis ;jp=jp-c2"})
    assert s.node_registry == {"us": ("us-c2", "us-aegis"), "jp": ("jp-c2",)}
    assert s.registered("us", "us-aegis") and not s.registered("kr", "kr-c2") and not s.registered("us", "jp-c2")


def test_the_fusion_client_id_is_the_same_for_a_restart_on_the_same_log_and_differs_for_another_service(
    tmp_path,
) -> None:
    def client_id(log: str, listen: str = "127.0.0.1:50051", **env: str) -> str:
        return Settings.load(env=env, warning_log=log, grpc_listen=listen).fusion_client_id

    log = str(tmp_path / "warnings.sqlite")
    assert client_id(log) == client_id(log)
    assert client_id(log).startswith("triwarn-fusion-")
    assert client_id(log) != client_id(str(tmp_path / "other.sqlite"))
    assert client_id(log) != client_id(log, "127.0.0.1:50052")
    assert client_id(log, TRIWARN_MQTT_CLIENT_ID="hub-fusion") == "hub-fusion"
