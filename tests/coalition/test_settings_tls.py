"""``mqtts://`` means TLS or an error: the settings refuse it without TLS files, and refuse half a set."""

from __future__ import annotations

import pytest

from triwarn.services.runtime.settings import Settings, SettingsError


def test_mqtts_needs_the_tls_files() -> None:
    with pytest.raises(SettingsError, match="asks for TLS"):
        Settings.load(env={}, broker_url="mqtts://127.0.0.1:8883")
    with pytest.raises(SettingsError, match="asks for TLS"):
        Settings.load(env={"TRIWARN_BROKER_URL": "mqtts://broker-hub:8883"})


def test_tls_files_go_together() -> None:
    with pytest.raises(SettingsError, match="go together"):
        Settings.load(env={}, broker_url="mqtts://127.0.0.1:8883", tls_ca="ca.crt")


def test_mqtts_with_the_files_is_accepted() -> None:
    s = Settings.load(env={}, broker_url="mqtts://127.0.0.1:8883", tls_ca="a", tls_cert="b", tls_key="c")
    assert s.tls_key == "c"
