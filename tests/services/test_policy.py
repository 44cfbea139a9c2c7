"""The releasability policy file: default, the documented example, and precise errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from triwarn.services.policy import Policy, PolicyError, load_policy, parse_policy

DOC = Path(__file__).resolve().parents[2] / "docs" / "releasability.md"


def _doc_blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_default_releases_everything_to_everyone() -> None:
    for policy in (load_policy(None), load_policy(""), parse_policy("")):
        for r in ("us", "jp", "kr"):
            assert policy.sources_for(r) == {"us", "jp", "kr"}


def test_the_documented_example_gives_the_documented_views(tmp_path: Path) -> None:
    (example,) = _doc_blocks("toml")
    f = tmp_path / "policy.toml"
    f.write_text(example, encoding="utf-8")
    policy = load_policy(f)
    assert policy.sources_for("us") == {"us", "jp", "kr"}
    assert policy.sources_for("jp") == {"jp", "us"}
    assert policy.sources_for("kr") == {"kr", "us"}
    (views,) = [b for b in _doc_blocks("text") if "<-" in b]
    assert policy.describe() == views.strip()


def test_own_data_is_always_released_and_default_none() -> None:
    policy = parse_policy('default = "none"\n[release.us]\nto = ["jp"]\n[release.kr]\nto = []\n')
    assert policy.sources_for("us") == {"us"}
    assert policy.sources_for("jp") == {"jp", "us"}
    assert policy.sources_for("kr") == {"kr"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[release.cn]\nto = []\n", "unknown nation 'cn'"),
        ('[release.jp]\nto = ["us", "ru"]\n', "unknown recipient(s) ru"),
        ('[release.jp]\nto = "us"\n', "'to' must be a list"),
        ("[release.jp]\nrecipients = []\n", "unknown key(s) recipients"),
        ("[release.jp]\n", "missing key 'to'"),
        ('default = "some"\n', 'expected "all" or "none"'),
        ("version = 2\n", "version = 2 is not supported"),
        ("colour = 1\n", "unknown key(s) colour"),
        ("release = 3\n", "release must be a table"),
        ("[release.jp\nto = []\n", "not valid TOML"),
    ],
)
def test_bad_files_give_precise_errors(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        load_policy(f)
    assert message in str(err.value)
    assert str(f) in str(err.value)


def test_missing_file_and_unknown_recipient(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "nope.toml")
    with pytest.raises(PolicyError, match="unknown recipient"):
        Policy.release_all().sources_for("xx")
