"""The command contract: every module in fetalseg.cli.commands is one sub-command."""

from __future__ import annotations

import pytest

from fetalseg.cli.commands import COMMANDS, command_modules
from fetalseg.cli.main import build_parser, main

MODULES = command_modules()


@pytest.mark.parametrize("module", MODULES, ids=COMMANDS)
def test_module_declares_the_contract(module) -> None:
    assert module.NAME.replace("-", "_") == module.__name__.rsplit(".", 1)[1]
    assert module.HELP and "\n" not in module.HELP
    assert module.NEEDS_EXTRA in (None, "train")
    assert callable(module.add_arguments) and callable(module.run)


@pytest.mark.parametrize("module", MODULES, ids=COMMANDS)
def test_help_of_every_command(module, capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main([module.NAME, "--help"])
    assert e.value.code == 0
    assert module.HELP.split()[0] in capsys.readouterr().out


def test_measuring_commands_need_no_extra() -> None:
    core = {m.NAME for m in MODULES if m.NEEDS_EXTRA is None}
    assert {"predict", "serve", "demo"} <= core


def test_parser_lists_every_command() -> None:
    parser = build_parser()
    choices = next(a for a in parser._actions if a.dest == "command").choices
    assert set(choices) == {m.NAME for m in MODULES}


@pytest.mark.parametrize(
    "argv, named",
    [
        ([], "COMMAND"),
        (["predict"], "input"),
        (["predict", "x.png", "--backend", "foo"], "--backend"),
        (["serve", "--port", "abc"], "--port"),
        (["predict", "x.png", "--bogus"], "--bogus"),
        (["predict", "x.png", "--pixel-size", "0.1", "--pixel-csv", "p.csv"], "--pixel-csv"),
    ],
)
def test_argparse_errors_are_one_line_exit_2(argv, named, capsys) -> None:
    assert main(argv) == 2  # returned, not a SystemExit
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "usage:" not in err, err
    assert err.startswith("fetalseg") and ": error: " in err and named in err
    assert err.rstrip().endswith("-h lists the options")
