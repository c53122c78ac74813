"""Packaging: `psa --version`, the freedesktop files, the wheel's resources, resource lookup.

The PyInstaller build itself is too slow for the suite; `./dev package` builds and smoke-tests
it. Validators (desktop-file-validate, appstreamcli, systemd-analyze) are Debian packages that
packaging/ci-system-deps.sh installs; a test skips, saying so, where one is missing.
"""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from console import resources
from console.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "packaging" / "linux"
DESKTOP_FILES = sorted(LINUX.glob("*.desktop"))
METAINFO = sorted(LINUX.glob("*.metainfo.xml"))


def project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "version"
    ]


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (packaging/ci-system-deps.sh installs it)")
    return path


# ----------------------------------------------------------------------------- psa --version


def test_psa_version_names_the_installed_version(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"psa {project_version()}"


def test_psa_version_works_as_a_command() -> None:
    psa = Path(sys.executable).with_name("psa")
    if not psa.exists():
        pytest.skip("the psa script is not installed in this environment")
    result = subprocess.run([str(psa), "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"psa {project_version()}"


# ----------------------------------------------------------------------------- desktop files


def test_there_is_a_desktop_file_for_the_console_and_one_for_the_wall() -> None:
    names = {p.name for p in DESKTOP_FILES}
    assert names == {"io.github.psa_console.Console.desktop", "io.github.psa_console.Wall.desktop"}


@pytest.mark.parametrize("path", DESKTOP_FILES, ids=lambda p: p.name)
def test_desktop_file_passes_desktop_file_validate(path: Path) -> None:
    validate = need("desktop-file-validate")
    result = subprocess.run([validate, str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in (result.stdout + result.stderr).lower()


@pytest.mark.parametrize("path", DESKTOP_FILES, ids=lambda p: p.name)
def test_every_desktop_command_is_a_valid_psa_command_line(path: Path) -> None:
    entries = configparser.ConfigParser(interpolation=None, strict=False)
    entries.optionxform = str  # type: ignore[assignment,method-assign]
    entries.read(path, encoding="utf-8")
    commands = [section["Exec"] for section in entries.values() if "Exec" in section]
    assert commands
    for command in commands:
        program, *argv = shlex.split(command)
        assert program == "psa"
        parsed = build_parser().parse_args(argv)  # exits (fails the test) if psa refuses it
        assert parsed.command == "console"
    icon = entries["Desktop Entry"]["Icon"]
    assert (ROOT / "resources" / "icons" / f"{icon}.svg").is_file()


def test_metainfo_passes_appstreamcli_validate() -> None:
    appstreamcli = need("appstreamcli")
    [path] = METAINFO
    result = subprocess.run(
        [appstreamcli, "validate", "--no-net", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_metainfo_launches_the_console_desktop_file() -> None:
    [path] = METAINFO
    text = path.read_text(encoding="utf-8")
    component_id = path.name.removesuffix(".metainfo.xml")
    assert f"<id>{component_id}</id>" in text
    assert f'<launchable type="desktop-id">{component_id}.desktop</launchable>' in text
    assert (LINUX / f"{component_id}.desktop").is_file()
    assert f'<release version="{project_version()}"' in text


def test_app_icon_is_an_svg_with_a_view_box() -> None:
    icon = (ROOT / "resources" / "icons" / "psa-console.svg").read_text(encoding="utf-8")
    assert "<svg" in icon and 'viewBox="0 0 128 128"' in icon


# ----------------------------------------------------------------------------- systemd units

UNITS = [
    ROOT / "packaging" / "systemd" / "psa-relay.service",
    ROOT / "packaging" / "systemd" / "user" / "psa-relay.service",
    ROOT / "packaging" / "systemd" / "user" / "psa-wall.service",
]


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_systemd_units_parse(unit: Path, tmp_path: Path) -> None:
    analyze = need("systemd-analyze")
    user = unit.parent.name == "user"
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    argv = [analyze, *(["--user"] if user else []), "verify", str(unit)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    output = (result.stdout + result.stderr).strip().splitlines()
    if any("Failed to initialize manager" in line for line in output):
        pytest.skip(f"systemd-analyze cannot run here: {output[-1]}")
    # the ExecStart binary is not installed on a test machine; anything else is a real problem
    problems = [line for line in output if "is not executable" not in line]
    assert problems == []


# ----------------------------------------------------------------------------- resources


def test_resources_are_found_in_a_checkout() -> None:
    assert resources.resources_dir() == ROOT / "resources"


def test_resources_are_found_in_a_pyinstaller_bundle(monkeypatch, tmp_path: Path) -> None:
    bundled = tmp_path / "resources"
    (bundled / "odoo").mkdir(parents=True)
    (bundled / "odoo" / "schema.toml").write_text("", encoding="utf-8")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    resources.resources_dir.cache_clear()
    try:
        assert resources.resources_dir() == bundled
    finally:
        resources.resources_dir.cache_clear()


def test_missing_resources_say_where_they_were_looked_for(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(resources, "_candidates", lambda: [tmp_path / "nowhere"])
    resources.resources_dir.cache_clear()
    try:
        with pytest.raises(FileNotFoundError, match="PSA_RESOURCES") as raised:
            resources.resources_dir()
        assert str(tmp_path / "nowhere") in str(raised.value)
    finally:
        resources.resources_dir.cache_clear()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The project's wheel, built from a copy of the sources (nothing written to the tree)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("console", "resources", "packaging"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
            "--wheel-dir",
            str(out),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0 and "No matching distribution found for setuptools" in output:
        pytest.skip("no package index reachable for the build backend (setuptools>=69)")
    assert result.returncode == 0, output
    [built] = out.glob("psa_console-*.whl")
    return built


def test_the_wheel_carries_every_resource_and_the_desktop_files(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    data = f"psa_console-{project_version()}.data/data/"
    for path in (ROOT / "resources").rglob("*"):
        if path.is_file():
            relative = path.relative_to(ROOT / "resources").as_posix()
            assert f"{data}{resources.INSTALLED_SUBDIR.as_posix()}/{relative}" in names
    for path in DESKTOP_FILES:
        assert f"{data}share/applications/{path.name}" in names
    assert f"{data}share/metainfo/{METAINFO[0].name}" in names
    assert f"{data}share/icons/hicolor/scalable/apps/psa-console.svg" in names
    assert f"{data}share/psa-console/systemd/user/psa-wall.service" in names
    assert "console/ui/wall.py" in names


def test_an_installed_wheel_finds_its_resources(wheel: Path, tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            # never uninstall the psa-console of the environment running the tests
            "--ignore-installed",
            "--disable-pip-version-check",
            "--prefix",
            str(prefix),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [site] = prefix.glob("lib/python3*/site-packages")
    probe = (
        "import console, console.resources as r; from console.odoo.schema import load_schema;"
        "load_schema(); print(console.__file__); print(r.resources_dir())"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PSA_RESOURCES")}
    env["PYTHONPATH"] = str(site)
    run = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    module, found = run.stdout.strip().splitlines()
    assert Path(module).is_relative_to(site)  # the installed copy, not the checkout
    assert Path(found) == (prefix / resources.INSTALLED_SUBDIR).resolve()
