"""Each subcommand imports only what it uses: start-up is most of what a one-shot
``placer`` call costs (issue 10), and one eager import anywhere (networkx, pyelftools, the
SVG writer, Lark) puts it on every call. Each command below runs in a fresh interpreter
under ``-X importtime``; the third-party packages and the placer modules it loaded are
compared with what it needs."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from placer.board import Arch
from placer.cli.boards import ARCHES
from placer.cli.memory import LINKER_TARGETS
from placer.cli.verify import STORAGES
from placer.llext import Storage
from placer.script import evaluate
from tests.llext.build import HELLO, build_extension

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "data" / "stm32f429zi.ld"


def _imports(arguments: list[str], cwd: Path) -> list[tuple[int, str]]:
    """The modules `placer ARGUMENTS` imports, in ``-X importtime`` order (a module after
    the modules it imported), each with its nesting depth."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "placer", *arguments],
                            cwd=cwd, capture_output=True, text=True, check=False)
    assert result.returncode in (0, 1), result.stderr[-2000:]
    found = []
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "imported package" not in line:
            name = line.rsplit("|", 1)[1]
            found.append((len(name) - len(name.lstrip()), name.strip()))
    return found


#: Not placer's doing: site hooks of the Python installation. (A name that cannot be
#: imported, e.g. `copy`'s try of Jython's ``org.python``, is not a package either.)
_SITE = {"sitecustomize", "usercustomize"}


def _third_party(modules: list[tuple[int, str]]) -> dict[str, str]:
    """Each third-party package imported -> the placer module whose import loaded it."""
    found: dict[str, str] = {}
    for index, (depth, name) in enumerate(modules):
        top = name.split(".")[0]
        if (top in sys.stdlib_module_names or top == "placer" or top.startswith("_")
                or top in _SITE or top in found or importlib.util.find_spec(top) is None):
            continue
        importer = "a function as the command ran (not a module's import)"
        for later_depth, later in modules[index + 1:]:
            if later_depth < depth and later.startswith("placer"):
                importer = later
                break
            depth = min(depth, later_depth)
        found[top] = importer
    return found


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("imports")
    subprocess.run([sys.executable, "-m", "placer", "place", "-o", str(work / "out")],
                   cwd=work, check=True, capture_output=True)
    layout = work / "out" / "layout.json"
    exports = work / "exports.txt"
    exports.write_text("printk 0x1001\n")
    prj = work / "prj.conf"
    prj.write_text("CONFIG_LLEXT=y\nCONFIG_LLEXT_HEAP_SIZE=16\n")
    profile = work / "llext-profile.json"
    subprocess.run([sys.executable, "-m", "placer", "profile", "--layout", str(layout),
                    "--exports-list", str(exports), "-o", str(profile)],
                   cwd=work, check=True, capture_output=True)
    return {"work": work, "layout": layout, "exports": exports, "prj": prj,
            "profile": profile}


#: Subcommand -> the third-party packages it may import. The values between stages are
#: placer's own records (no attrs at run time); pyelftools reads a built image
#: (zephyr.elf) and nothing else: extensions are read by placer.llext.elf itself, so
#: verify and profile with an export list or a profile never load it.
EXPECTED: dict[str, set[str]] = {
    "--help": set(),
    "boards": set(),
    "board show": set(),
    "check": set(),
    "memory": set(),
    "format": set(),
    "place -o": set(),
    "place --json": set(),
    "diff": set(),
    "config check": {"kconfiglib"},
    "verify": set(),
    "verify --profile": set(),
    "profile": set(),
}


def _command(name: str, inputs: dict[str, Path], llext: Path | None) -> list[str]:
    work = inputs["work"]
    return {
        "--help": ["--help"],
        "boards": ["boards"],
        "board show": ["board", "show", "qemu_cortex_m3"],
        "check": ["check", str(SCRIPT)],
        "memory": ["memory", str(SCRIPT)],
        "format": ["format", str(SCRIPT)],
        "place -o": ["place", "-o", str(work / "again")],
        "place --json": ["place", "--json"],
        "diff": ["diff", str(inputs["layout"]), str(inputs["layout"])],
        "config check": ["config", "check", str(inputs["prj"])],
        "verify": ["verify", str(llext), "--layout", str(inputs["layout"]),
                   "--exports-list", str(inputs["exports"])],
        "verify --profile": ["verify", str(llext), "--profile", str(inputs["profile"]),
                             "--format", "markdown"],
        "profile": ["profile", "--layout", str(inputs["layout"]), "--exports-list",
                    str(inputs["exports"]), "-o", str(work / "again.json")],
    }[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_subcommand_imports_only_the_packages_it_uses(
        name: str, inputs: dict[str, Path]) -> None:
    llext = build_extension(inputs["work"], "arm", "hello", HELLO).path \
        if name.startswith("verify") else None
    imported = _third_party(_imports(_command(name, inputs, llext), inputs["work"]))
    extra = sorted(set(imported) - EXPECTED[name])
    assert not extra, "\n".join(
        f"`placer {name}` now imports {package} (imported by {imported[package]}), which it "
        "does not need on this path: import it inside the function that uses it (issue 10; "
        "see placer/cli/__init__.py)" for package in extra)
    missing = sorted(EXPECTED[name] - set(imported))
    assert not missing, f"`placer {name}` no longer imports {', '.join(missing)}: " \
        "update EXPECTED in tests/test_imports.py"


def test_help_loads_no_library_stage() -> None:
    modules = [m for _, m in _imports(["--help"], ROOT)]
    placer_modules = sorted(m for m in modules if m.startswith("placer"))
    # Listing the subcommands imports none of their modules: their one-line help is in
    # placer.cli itself, their options are declared when one is named.
    assert placer_modules == ["placer", "placer._lazy", "placer.cli", "placer.cli.options",
                              "placer.cli.output"], placer_modules
    # Nor what only the library's values or a subcommand need (a few milliseconds each of
    # a start-up about three times the interpreter's own). Run without site (-S): an
    # editable install's import hook loads typing and pathlib before placer starts.
    bare = subprocess.run(
        [sys.executable, "-S", "-X", "importtime", "-c",
         f"import sys; sys.path.insert(0, {str(ROOT)!r}); sys.argv[1:] = ['--help']; "
         "from placer.cli import entry; entry()"],
        capture_output=True, text=True, check=True)
    loaded = {line.rsplit("|", 1)[1].strip() for line in bare.stderr.splitlines()
              if line.startswith("import time:")}
    assert "placer.cli" in loaded
    assert not {"typing", "pathlib", "json", "tempfile", "shutil"} & loaded


def test_import_placer_loads_no_stage() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import placer, sys; print(json.dumps(sorted(sys.modules)))"
         .replace("import placer,", "import json, placer,")],
        capture_output=True, text=True, check=True)
    loaded = [m for m in json.loads(result.stdout) if m.startswith("placer")]
    assert loaded == ["placer", "placer._lazy"]


def test_the_parser_spells_the_library_choices() -> None:
    # The CLI spells these so that building the parser imports no library module.
    assert tuple(a.value for a in Arch) == ARCHES
    assert tuple(s.value for s in Storage) == STORAGES
    assert tuple(sorted(evaluate.LINKER_TARGETS)) == LINKER_TARGETS
