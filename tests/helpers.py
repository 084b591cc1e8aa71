import json

from typer.testing import CliRunner

from sgtk_cli.main import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def assert_one_line_error(result, *words: str):
    """Exit code != 0, one line naming the problem, no traceback."""
    assert result.exit_code != 0, result.output
    text = result.output.strip()
    assert "Traceback" not in text, text
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    for w in words:
        assert w in text, text


def last_json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])
