"""Where the command line finds its URL and key: the environment over the stored login, the
file written with mode 0600 (and tightened if it existed wider)."""

from __future__ import annotations

import stat
from pathlib import Path

from qrforge.cli.credentials import Credentials, forget, load, save


def test_saved_login_is_private_and_the_environment_wins(tmp_path: Path) -> None:
    env = {"QRFORGE_CONFIG_DIR": str(tmp_path / "cfg")}
    path = save(Credentials("https://qr.example.com", "sk_live_one"), env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load(env) == Credentials("https://qr.example.com", "sk_live_one")
    overridden = {**env, "QRFORGE_URL": "http://127.0.0.1:9", "QRFORGE_API_KEY": "sk_live_two"}
    assert load(overridden) == Credentials("http://127.0.0.1:9", "sk_live_two")
    path.chmod(0o644)
    save(Credentials("https://qr.example.com", "sk_live_three"), env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert forget(env) and not path.exists()
    assert load(env) == Credentials("http://127.0.0.1:8080", None)


def test_an_unreadable_file_is_ignored(tmp_path: Path) -> None:
    env = {"QRFORGE_CONFIG_DIR": str(tmp_path)}
    (tmp_path / "config.json").write_text("not json")
    assert load(env).api_key is None
