"""The package imports and exposes its console entry point."""

import proxier
from proxier.cli import main


def test_version_is_set() -> None:
    assert proxier.__version__


def test_cli_requires_a_command() -> None:
    import pytest

    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
