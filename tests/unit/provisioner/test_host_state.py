"""Host mode's state directory: records round-trip, stay owner-only, and a broken one is
dropped instead of stopping the controller; the launch digest changes with the launch."""

from __future__ import annotations

from pathlib import Path

from gateway_contour.provisioner.host_state import EnvoyRecord, StateDir, launch_digest


def record(fleet: str = "default/web", pid: int = 4242) -> EnvoyRecord:
    return EnvoyRecord(
        fleet=fleet,
        pid=pid,
        started=123456,
        admin_port=9901,
        bootstrap="/work/default_web.bootstrap.json",
        digest="abc",
        token="secret-token",
    )


def test_records_round_trip_owner_only(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    state.save(record())
    state.save(record("default/other", 7))
    assert state.load() == [record("default/other", 7), record()]
    path = tmp_path / "default_web.state.json"
    assert oct(path.stat().st_mode & 0o777) == "0o600"  # it holds the fleet's token
    state.save(record(pid=5))
    state.remove("default/other")
    assert state.load() == [record(pid=5)]


def test_an_unreadable_record_is_dropped(tmp_path: Path) -> None:
    (tmp_path / "default_web.state.json").write_text("{not json")
    (tmp_path / "default_old.state.json").write_text('{"fleet": "default/old"}')
    assert StateDir(tmp_path).load() == []
    assert list(tmp_path.iterdir()) == []


def test_the_launch_digest_follows_bootstrap_and_command_line() -> None:
    bootstrap = {"node": {"id": "default/web@host", "cluster": "default/web"}}
    argv = ["envoy", "-c", "/work/default_web.bootstrap.json", "--concurrency", "1"]
    same = launch_digest({"node": {"cluster": "default/web", "id": "default/web@host"}}, argv)
    assert launch_digest(bootstrap, argv) == same
    assert launch_digest(bootstrap, [*argv[:-1], "2"]) != same
    assert launch_digest({"node": {"id": "default/web@host", "cluster": "x"}}, argv) != same
