"""The administrator guide and the troubleshooting page stay true to the code.

* Every message quoted in a ```` ```message ```` block (one message per line, as the product
  prints it) still occurs in the source tree. ``{name}`` and ``…`` stand for the variable
  parts; everything else must be literal text of one string in ``console/`` (adjacent literals,
  f-strings and ``+`` chains of strings are joined the way Python joins them, an f-string's
  ``{…}`` fields and ``%s`` arguments count as variable).
* Every ``psa …`` command line in the docs' shell blocks and inline code parses with the real
  ``psa`` argument parser (lines with placeholders that cannot be filled are skipped).
* The settings and metrics the admin guide lists are the ones the code has, all of them.

No network, no Qt: the source is read with ``ast``; the parser is ``console.cli.build_parser``.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import io
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
ADMIN_GUIDE = DOCS / "admin-guide.md"
TROUBLESHOOTING = DOCS / "troubleshooting.md"
PAGES = (ADMIN_GUIDE, TROUBLESHOOTING)

#: stands for an f-string field (``{…}``) in the strings read from the source
HOLE = "\x00"
#: a placeholder in a quoted message: ``{name}`` (identifier-like, so JSON braces stay literal)
#: or an ellipsis
PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_ .-]*\}|…")
FENCE = re.compile(r"^```(\S*)\s*$")
#: words that mark a command line as a template rather than something one can type
TEMPLATE_MARKS = ("<", ">", "[", "]", "|", "{", "}", "…", "...")


# ---------------------------------------------------------------------------------- the docs
def fenced_blocks(path: Path, languages: set[str]) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` of every line inside fenced blocks of these info strings."""
    inside: str | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = FENCE.match(line.strip())
        if match:
            inside = None if inside is not None else match.group(1)
            continue
        if inside in languages:
            yield number, line


def quoted_messages() -> list[tuple[str, int, str]]:
    """``(page, line number, message)`` of every line of a ```message block."""
    found = []
    for page in PAGES:
        for number, line in fenced_blocks(page, {"message"}):
            if line.strip():
                found.append((page.name, number, line.strip()))
    return found


def shell_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Shell lines of fenced ``sh``/``console``/``bash`` blocks, continuations joined."""
    pending = ""
    start = 0
    for number, line in fenced_blocks(path, {"sh", "bash", "console", "shell"}):
        text = line.strip()
        if not pending:
            start = number
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        yield start, pending + text
        pending = ""


def inline_code(path: Path) -> Iterator[tuple[int, str]]:
    """Inline code spans (outside fenced blocks)."""
    inside = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line.strip()):
            inside = not inside
            continue
        if not inside:
            for span in re.findall(r"`([^`]+)`", line):
                yield number, span


def psa_argv(command_line: str) -> list[str] | None:
    """The arguments after ``psa`` in a shell line, or None (not a psa command, or a template).

    Understands a ``$ `` prompt, leading ``NAME=value`` assignments, ``sudo -u USER``, and
    ``psa`` given by a path (``/opt/psa/psa``, ``%h/.local/bin/psa``) or as ``./dev psa``.
    """
    text = command_line.split(" #", 1)[0].strip()
    text = text.removeprefix("$ ")
    # a shell pipe or list ends the command (`preview|apply`, without spaces, is a template)
    text = re.split(r"\s(?:\|\|?|&&|;)\s", text)[0]
    if any(mark in text for mark in TEMPLATE_MARKS) or "$(" in text:
        return None
    try:
        words = shlex.split(text)
    except ValueError:
        return None
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        words.pop(0)
    if words[:1] == ["sudo"]:
        words.pop(0)
        if words[:1] == ["-u"]:
            del words[:2]
    if words[:2] == ["./dev", "psa"]:
        words.pop(0)
    if not words or not (words[0] == "psa" or words[0].endswith("/psa")):
        return None
    return words[1:]


def documented_commands() -> list[tuple[str, int, list[str]]]:
    """Every command line of the shell blocks; inline code only where it is a command line,
    not a mention (`psa billing`, or `psa doctor:` in front of a message)."""
    found = []
    for page in PAGES:
        for number, line in shell_lines(page):
            argv = psa_argv(line)
            if argv is not None:
                found.append((page.name, number, argv))
        for number, span in inline_code(page):
            argv = psa_argv(span)
            if argv is not None and len(argv) >= 2 and not any(w.endswith(":") for w in argv):
                found.append((page.name, number, argv))
    return found


# ---------------------------------------------------------------------------------- the code
def _render(node: ast.expr) -> str | None:
    """The text of a string expression with its variable parts as :data:`HOLE`, or None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(value.value)
            else:
                parts.append(HOLE)
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _render(node.left), _render(node.right)
        if left is None and right is None:
            return None
        return (left if left is not None else HOLE) + (right if right is not None else HOLE)
    return None


@functools.cache
def source_strings() -> tuple[str, ...]:
    """Every string expression in ``console/`` but the sandboxes (printf ``%`` fields count as
    variable too)."""
    strings: set[str] = set()
    for path in sorted((ROOT / "console").rglob("*.py")):
        if "sandbox" in path.relative_to(ROOT).parts:
            continue  # the stand-ins' messages are not the product's
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant | ast.JoinedStr | ast.BinOp):
                text = _render(node)  # type: ignore[arg-type]
                if text and len(text) > 3:
                    strings.add(re.sub(r"%[-+ #0]*\d*(?:\.\d+)?[sdrfg]", HOLE, text))
    return tuple(strings)


def message_pattern(message: str) -> re.Pattern[str]:
    """Literal parts must match literally (never across a variable part); placeholders match
    anything, variable parts included, and the spaces around them (a printed ``[Errno 98] …``
    is a placeholder that brings its own space)."""
    pieces = PLACEHOLDER.split(message)
    parts = []
    for index, piece in enumerate(pieces):
        if index > 0:
            piece = piece.lstrip()
        if index < len(pieces) - 1:
            piece = piece.rstrip()
        parts.append(re.escape(piece))
    return re.compile(r"\s*.*?\s*".join(parts), re.DOTALL)


def occurs_in_source(message: str) -> bool:
    pattern = message_pattern(message)
    # only strings holding the longest literal piece can match: a fast substring filter first
    longest = max((piece.strip() for piece in PLACEHOLDER.split(message)), key=len)
    return any(longest in text and pattern.search(text) for text in source_strings())


# ---------------------------------------------------------------------------------- tests
#: how each command prints a failure (the message after the colon is checked on its own)
COMMAND_PREFIXES = {
    "relay": "psa relay: {exc}",
    "console": "psa console: {exc}",
    "provision": "{command}: {exc}",
    "doctor": "{command}: {exc}",
    "billing preview": "psa billing {action}: {exc}",
    "billing apply": "psa billing {action}: {exc}",
}
MESSAGES = quoted_messages()
COMMANDS = documented_commands()


def test_the_pages_exist_and_quote_enough_to_be_checked() -> None:
    assert ADMIN_GUIDE.is_file() and TROUBLESHOOTING.is_file()
    # a page whose blocks were renamed would silently check nothing
    assert len([m for m in MESSAGES if m[0] == TROUBLESHOOTING.name]) >= 60
    assert len(COMMANDS) >= 20


def test_the_checker_rejects_a_message_the_code_does_not_have() -> None:
    assert occurs_in_source("use POST")
    assert not occurs_in_source("the relay exploded: {reason}")
    # literal text must not stand where the code has a variable part
    assert not occurs_in_source("store must be 'sqlite' or 'postgres', not 'mysql' please")


def test_the_command_checker_reads_shell_lines_and_refuses_bad_ones() -> None:
    assert psa_argv("$ PSA_ODOO_DB=x /opt/psa/psa doctor --db x | tee out") == [
        "doctor",
        "--db",
        "x",
    ]
    assert psa_argv("psa provision --url <odoo> --db DB") is None  # a template
    assert psa_argv("systemctl --user start psa-relay") is None
    with (
        contextlib.redirect_stderr(io.StringIO()),
        pytest.raises(SystemExit) as refused,
    ):
        build_parser().parse_args(["relay", "--bogus"])
    assert refused.value.code == 2


@pytest.mark.parametrize(
    ("page", "line", "message"), MESSAGES, ids=[f"{p}:{n}" for p, n, _m in MESSAGES]
)
def test_quoted_message_still_occurs_in_the_source(page: str, line: int, message: str) -> None:
    body = message
    prefix = re.match(
        r"psa (relay|console|provision|doctor|billing preview|billing apply): ", message
    )
    if prefix:
        # the command prints "<command>: <message>"; the message itself is checked below
        body = message[prefix.end() :]
        assert occurs_in_source(COMMAND_PREFIXES[prefix.group(1)]), f"{page}:{line}: prefix"
    assert occurs_in_source(body), (
        f"{page}:{line}: this message is not in the source any more (or a variable part is "
        f"written out; use {{name}} or … for it): {message!r}"
    )


@pytest.mark.parametrize(
    ("page", "line", "argv"), COMMANDS, ids=[f"{p}:{n}" for p, n, _a in COMMANDS]
)
def test_documented_psa_command_parses(page: str, line: int, argv: list[str]) -> None:
    parser = build_parser()
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            parser.parse_args(argv)
        except SystemExit as exit_:
            # --help and --version exit 0; an error exits 2
            assert exit_.code == 0, f"{page}:{line}: psa {shlex.join(argv)}: {stderr.getvalue()}"


def _documented_names(pattern: str) -> set[str]:
    text = ADMIN_GUIDE.read_text(encoding="utf-8")
    return set(re.findall(pattern, text))


def test_admin_guide_lists_every_relay_setting() -> None:
    from console.relay import config

    listed = _documented_names(r"`([a-z_]+)`")
    keys = set(config._RELAY_KEYS) | set(config._ODOO_KEYS) | set(config._PULSEWAY_KEYS)
    keys |= {"enabled", "team_xmlid", "priority_map"}
    assert keys - listed == set()
    for variable in config.SECRET_VARIABLES:
        assert variable in ADMIN_GUIDE.read_text(encoding="utf-8")


def test_admin_guide_lists_every_wall_setting() -> None:
    tree = ast.parse((ROOT / "console/ui/wall.py").read_text(encoding="utf-8"))
    settings = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and node.name == "WallSettings"
    )
    keys = {
        node.target.id
        for node in settings.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    }
    assert keys and keys - _documented_names(r"`([a-z_]+)`") == set()


def test_environment_variables_named_in_the_docs_exist() -> None:
    from console.relay import config

    generated = {f"PSA_RELAY_{key.upper()}" for key in config._RELAY_KEYS}
    generated |= {f"PSA_ODOO_{key.upper()}" for key in config._ODOO_KEYS}
    generated |= {f"PSA_PULSEWAY_{key.upper()}" for key in config._PULSEWAY_KEYS}
    generated |= {f"PSA_ROCKETCYBER_{key.upper()}" for key in config._POLLER_KEYS}
    tree = ast.parse((ROOT / "console/ui/wall.py").read_text(encoding="utf-8"))
    settings = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and node.name == "WallSettings"
    )
    generated |= {
        f"PSA_WALL_{node.target.id.upper()}"
        for node in settings.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    }
    literal = " ".join(source_strings())
    for page in PAGES:
        for variable in set(re.findall(r"\bPSA_[A-Z0-9_]*[A-Z0-9]\b", page.read_text("utf-8"))):
            assert variable in generated or variable in literal, f"{page.name}: {variable}"


def test_admin_guide_lists_every_metric_and_no_other() -> None:
    from console.relay.metrics import RelayMetrics

    exposed = set(
        re.findall(
            r"^# TYPE (\S+)", RelayMetrics(lambda: 0, lambda: True, lambda: 0).render(), re.M
        )
    )
    rules_source = (ROOT / "console/relay/rules_worker.py").read_text(encoding="utf-8")
    body = rules_source.partition("def metrics_lines")[2].partition("\n    def ")[0]
    rules = {
        f"psa_relay_rules_{name}{suffix}"
        for name in re.findall(r'^\s*\("([a-z_]+)",', body, re.M)
        for suffix in ("", "_total")
    }
    listed = _documented_names(r"`(psa_relay_[a-z_]+)`")
    assert exposed - listed == set(), "metrics the relay exposes but the guide does not list"
    unknown = {name for name in listed - exposed if name not in rules}
    assert unknown == set(), "metrics the guide lists but the relay does not expose"
    assert {n for n in listed if n.startswith("psa_relay_rules_")}, "rules metrics missing"
