"""docs/architecture.md stays true: every module it names exists, every server module is named,
and every store function it names is one."""

import re

import pytest

from server import store
from tests.support import ROOT

DOC = (ROOT / "docs" / "architecture.md").read_text("utf-8")
QUOTED = re.findall(r"`([^`]+)`", DOC)
FOLDERS = "server|onetimeshare|static|tests|docs|devtools|bench"
PATHS = sorted({name for name in QUOTED if re.fullmatch(rf"({FOLDERS})/[\w./-]*", name)})
STORE_NAMES = sorted({name.split("(")[0] for name in QUOTED if name.startswith("store.")})


def test_the_document_names_modules_and_store_functions():
    assert len(PATHS) >= 40 and len(STORE_NAMES) >= 10


@pytest.mark.parametrize("path", PATHS)
def test_every_module_it_names_exists(path):
    assert (ROOT / path).exists(), f"docs/architecture.md names {path}, which does not exist"


@pytest.mark.parametrize("name", STORE_NAMES)
def test_every_store_function_it_names_exists(name):
    assert callable(getattr(store, name.removeprefix("store."), None)), name


def test_every_server_module_is_named():
    modules = {f"server/{path.name}" for path in (ROOT / "server").glob("*.py")}
    assert modules - set(QUOTED) == set(), "add them to docs/architecture.md"
