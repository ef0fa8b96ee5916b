"""The package imports and exposes its console entry point."""

from __future__ import annotations

import pytest

import proxier
from proxier.cli import main


def test_version_is_set() -> None:
    assert proxier.__version__


def test_cli_requires_a_command() -> None:
    import pytest

    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2


def test_version_option(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 11: `proxier --version` prints the version and exits 0."""
    import pytest

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"proxier {proxier.__version__}"


def test_license_metadata_is_an_spdx_expression() -> None:
    """Issue 11: license metadata as an SPDX string (no setuptools deprecation warning)."""
    import importlib.metadata
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert project["project"]["license"] == "BSD-3-Clause"
    assert importlib.metadata.metadata("proxier")["License-Expression"] == "BSD-3-Clause"
