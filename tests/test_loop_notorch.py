"""`vlagent run` with the oracle, and the loop's modules, work with torch unimportable."""

from tests.notorch import run_without_torch


def test_run_record_replay_report_without_torch(tmp_path):
    result = run_without_torch(
        f"""
        import sys
        from typer.testing import CliRunner
        from vlagent.agent.cli import app
        runner = CliRunner()
        common = ["--env-opt", "width=360", "--env-opt", "height=800",
                  "--env-opt", "state_file={tmp_path / 'state.json'}"]
        run = runner.invoke(app, ["run", "--env", "sim-phone:1", "--task", "settings.wifi_off", "--policy", "oracle",
                                  "--record", "{tmp_path / 'ep'}", "--headless", *common])
        assert run.exit_code == 0, run.output
        replay = runner.invoke(app, ["replay", "{tmp_path / 'ep'}", "--policy", "oracle", "--json"])
        assert replay.exit_code == 0 and '"step_accuracy": 1.0' in replay.stdout, replay.output
        report = runner.invoke(app, ["report", "{tmp_path / 'ep'}", "--animation", "none"])
        assert report.exit_code == 0, report.output
        import vlagent.agent.loop, vlagent.agent.safety, vlagent.agent.recorder, vlagent.agent.episode, vlagent.agent.replay, vlagent.agent.report, vlagent.agent.envs
        assert "torch" not in sys.modules, "torch was imported"
        """,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
