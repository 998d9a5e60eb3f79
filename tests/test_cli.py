"""The ``structgen`` command line (in-process through ``main(argv)``, plus one real
subprocess for the entry point)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from structgen.cli import EXIT_INCOMPLETE, main
from tests._tokenizers import tokenizer_dir

ROOT = Path(__file__).resolve().parent.parent

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "minLength": 1, "maxLength": 12},
                   "unit": {"enum": ["celsius", "fahrenheit"]}},
    "required": ["city", "unit"],
    "additionalProperties": False,
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def schema_file(tmp_path):
    p = tmp_path / "weather.json"
    p.write_text(json.dumps(SCHEMA))
    return p


def test_help_reads_well(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "generate" in out and "validate" in out
    for cmd, words in (("generate", ["--model", "--schema", "--regex", "--grammar", "--max-tokens", "--temperature",
                                     "--seed", "random"]),
                       ("validate", ["--schema", "--tokenizer", "CompileError"])):
        with pytest.raises(SystemExit) as e:
            main([cmd, "--help"])
        assert e.value.code == 0
        out = capsys.readouterr().out
        for w in words:
            assert w in out, (cmd, w)
    assert main([]) == 0  # no command: the overview
    assert "COMMAND" in capsys.readouterr().out


def test_generate_schema_with_the_tiny_random_model(capsys, schema_file):
    code = main(["generate", "--schema", str(schema_file), "--prompt", "Weather in Paris?", "--whitespace", "compact",
                 "--temperature", "1", "--seed", "3", "--max-tokens", "60", "--no-progress"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    jsonschema.validate(json.loads(cap.out), SCHEMA)
    assert "RANDOM weights" in cap.err and "meaningless" in cap.err
    assert "stop: eos" in cap.err


def test_generate_json_output_and_length_exit_code(capsys, schema_file):
    code = main(["generate", "--schema", str(schema_file), "--prompt", "x", "--max-tokens", "2", "--json-output",
                 "--no-jump-forward", "--no-progress"])
    cap = capsys.readouterr()
    assert code == EXIT_INCOMPLETE
    rec = json.loads(cap.out)
    assert rec["stop_reason"] == "length" and rec["finished"] is False and rec["tokens"] == 2
    assert "INCOMPLETE" in cap.err


def test_generate_regex_and_grammar(capsys, tmp_path):
    code = main(["generate", "--regex", r"[0-9]{3}-[0-9]{4}", "--prompt", "Phone:", "--no-progress", "--seed", "1",
                 "--temperature", "1"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert re.fullmatch(r"[0-9]{3}-[0-9]{4}\n", cap.out)
    lark = tmp_path / "pair.lark"
    lark.write_text('start: "(" WORD ", " WORD ")"\nWORD: /[a-z]{1,5}/\n')
    code = main(["generate", "--grammar", str(lark), "--prompt", "Pair:", "--no-progress", "--max-tokens", "30",
                 "--tokenizer", str(tokenizer_dir("llama2"))])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert re.fullmatch(r"\([a-z]{1,5}, [a-z]{1,5}\)\n", cap.out)
    assert "llama2" in cap.err


def test_generate_errors(capsys, tmp_path):
    assert main(["generate", "--prompt", "x"]) == 1
    assert "give a constraint" in capsys.readouterr().err
    assert main(["generate", "--schema", str(tmp_path / "missing.json"), "--prompt", "x"]) == 1
    assert "not found" in capsys.readouterr().err
    assert main(["generate", "--regex", "a", "--whitespace", "compact", "--prompt", "x"]) == 1
    assert "--schema only" in capsys.readouterr().err
    assert main(["generate", "--regex", "(?=a)a", "--prompt", "x", "--no-progress"]) == 1
    assert "lookahead" in capsys.readouterr().err.lower()
    with pytest.raises(SystemExit) as e:  # argparse: both constraints
        main(["generate", "--regex", "a", "--grammar", "json", "--prompt", "x"])
    assert e.value.code == 2
    capsys.readouterr()


def test_validate_reports_supported_and_failures(capsys, tmp_path, schema_file):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"type": "array", "items": {"type": "object"}, "uniqueItems": True}))
    code = main(["validate", "--schema", str(schema_file), str(bad), "--regex", "[a-z]+", "--grammar", "arithmetic",
                 "--tokenizer", str(tokenizer_dir("llama3"))])
    out = capsys.readouterr().out
    assert code == 1
    assert re.search(r"ok +.*weather\.json: \d+ terminals", out)
    assert re.search(r"FAIL +.*bad\.json: CompileError: .*uniqueItems", out)
    assert "ok    regex /[a-z]+/" in out and "ok    grammar arithmetic" in out
    assert "3 supported, 1 failed" in out
    assert "128257 ids" in out


def test_validate_schema_folder_and_notes(capsys, tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"type": "string", "maxLength": 3, "x-vendor": 1}))
    (tmp_path / "b.json").write_text(json.dumps({"type": "integer", "minimum": 0}))
    code = main(["validate", "--schema", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "2 supported, 0 failed" in out and "GPT-2" in out
    assert "note: unknown keyword 'x-vendor' ignored" in out
    (tmp_path / "c.json").write_text(json.dumps({"type": "array", "items": {"type": "object"}, "uniqueItems": True}))
    code = main(["validate", "--schema", str(tmp_path / "c.json"), "--lenient"])
    out = capsys.readouterr().out
    assert code == 0 and re.search(r"warning: .*uniqueItems", out), out


def test_entry_point_runs():
    """``python -m structgen.cli`` (what the ``structgen`` script calls) starts and
    prints its help."""
    proc = subprocess.run([sys.executable, "-m", "structgen.cli", "--help"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "usage: structgen" in proc.stdout


def test_python_dash_m_runs_the_command_line() -> None:
    r = subprocess.run([sys.executable, "-m", "structgen", "validate", "--regex", "("], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "FAIL" in r.stdout and "missing )" in r.stdout
