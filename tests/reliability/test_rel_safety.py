"""Issue 7, point 8: safe YAML, the module allow-list, refused dangerous targets, no
dashboard on the embedded Ray, no secret from the environment in the experiment's files."""

from __future__ import annotations

import os
import re
import socket
import struct
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from processes import session_processes
from rel_toy import (
    cli_env,
    history_lines,
    read_results,
    start_tune,
    tracked,
    wait_for,
    write_config,
)

from pipetune.cli.main import main
from pipetune.config import build, load_config, resolve
from pipetune.config._safety import ALLOWED_ENV
from pipetune.errors import ConfigError

# -- YAML ------------------------------------------------------------------------------------


def test_python_yaml_tags_are_refused_and_never_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "pwned"
    config = tmp_path / "config.yaml"
    config.write_text(
        f"evil: !!python/object/apply:os.system ['touch {marker}']\n"
        "training_pipeline:\n  - class_path: pipetune.Pipeline\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert "Python tags are not allowed" in str(info.value)

    assert main(["run", str(config)]) == 2
    assert "Python tags are not allowed" in capsys.readouterr().err
    assert not marker.exists()


# -- the module allow-list -----------------------------------------------------------------


def build_node(node: dict[str, Any]) -> Any:
    source = load_config({"obj": node})
    return build(source, resolve(source, "obj"), "obj")


def test_allow_list_limits_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    node = {"class_path": "collections.OrderedDict"}
    monkeypatch.delenv(ALLOWED_ENV, raising=False)
    assert build_node(node) == {}  # no allow-list: any importable, safe target

    monkeypatch.setenv(ALLOWED_ENV, "torch, mypkg")
    with pytest.raises(ConfigError) as info:
        build_node(node)
    assert "'collections.OrderedDict' is outside the allowed modules (torch, mypkg)" in str(
        info.value
    )
    assert info.value.key_path == "obj.class_path"
    # pipetune itself stays allowed, a listed prefix is allowed, a look-alike is not
    assert build_node({"class_path": "pipetune.torch.NaNGuard"}) is not None
    monkeypatch.setenv(ALLOWED_ENV, "collections")
    assert build_node(node) == {}
    monkeypatch.setenv(ALLOWED_ENV, "collect")
    with pytest.raises(ConfigError):
        build_node(node)


def test_allow_module_flag_limits_targets(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(ALLOWED_ENV, raising=False)  # restored after the test: main() sets it
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "training_pipeline": {
                    "class_path": "pipetune.Pipeline",
                    "init_args": {"steps": [{"class_path": "collections.OrderedDict"}]},
                }
            }
        )
    )
    assert main(["--allow-module", "torch", "run", str(config)]) == 2
    err = capsys.readouterr().err
    assert "'collections.OrderedDict' is outside the allowed modules (torch)" in err
    assert "--allow-module" in err


DANGEROUS = [
    {"_target_": "os.system", "_args_": ["touch {marker}"]},
    {"class_path": "os.system", "init_args": {"command": "touch {marker}"}},
    {"_target_": "subprocess.Popen", "_args_": [["touch", "{marker}"]]},
    {"_target_": "subprocess.run", "_args_": [["touch", "{marker}"]]},
    {"_target_": "builtins.eval", "_args_": ["open('{marker}', 'w')"]},
    {"_target_": "builtins.exec", "_args_": ["open('{marker}', 'w')"]},
    {"_target_": "posix.system", "_args_": ["touch {marker}"]},
    # a declaration nested in another's positional arguments
    {
        "_target_": "builtins.list",
        "_args_": [[{"_target_": "os.system", "_args_": ["touch {marker}"]}]],
    },
]


@pytest.mark.parametrize("node", DANGEROUS, ids=lambda n: str(n)[:60])
def test_dangerous_targets_are_refused_even_when_allowed(
    node: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    node = yaml.safe_load(yaml.safe_dump(node).replace("{marker}", str(marker)))
    monkeypatch.setenv(ALLOWED_ENV, "os,posix,subprocess,builtins")
    with pytest.raises(ConfigError) as info:
        build_node(node)
    assert "never instantiated from a config" in str(info.value)
    assert not marker.exists()


# -- the default policy: allowed kinds, decided before any call (issue 15) ------------------

# Each would write, link, make or reach something under {tmp} if it were called.
HOSTILE = [
    {"class_path": "io.open", "init_args": {"file": "{tmp}/victim", "mode": "w"}},
    {"_target_": "io.FileIO", "_args_": ["{tmp}/victim", "w"]},
    {"class_path": "shutil.copy", "init_args": {"src": "{tmp}/other", "dst": "{tmp}/victim"}},
    {"class_path": "os.symlink", "init_args": {"src": "/etc/passwd", "dst": "{tmp}/link"}},
    {"_target_": "os.makedirs", "name": "{tmp}/made/deep"},
    {"_target_": "os.mkdir", "path": "{tmp}/made"},
    {"_target_": "os.path.exists", "path": "{tmp}/victim"},
    {
        "_target_": "pathlib.Path.write_text",
        "_args_": [{"_target_": "pathlib.Path", "_args_": ["{tmp}/victim"]}, ""],
    },
    {"_target_": "pathlib.Path.mkdir", "_args_": ["{tmp}/made"]},
    {"_target_": "tempfile.mkstemp", "dir": "{tmp}"},
    {"_target_": "tempfile.TemporaryDirectory", "dir": "{tmp}"},
    {"_target_": "logging.FileHandler", "filename": "{tmp}/victim", "mode": "w"},
    {"_target_": "zipfile.ZipFile", "file": "{tmp}/victim", "mode": "w"},
    {"_target_": "socket.socket"},
    {
        "_target_": "urllib.request.urlretrieve",
        "url": "file:///etc/hostname",
        "filename": "{tmp}/victim",
    },
    {"_target_": "pipetune._io.atomic_write_text", "path": "{tmp}/victim", "text": ""},
    # an allowed kind does not let a refused target through its arguments
    {
        "_target_": "torch.nn.Sequential",
        "_args_": [{"_target_": "io.FileIO", "_args_": ["{tmp}/victim", "w"]}],
    },
    {"_target_": "pipetune._io.tempfile.mkstemp", "dir": "{tmp}"},  # a re-export
    # Hydra's keys inside init_args would replace the checked target
    {
        "class_path": "collections.OrderedDict",
        "init_args": {"_target_": "io.open", "_args_": ["{tmp}/victim", "w"]},
    },
]


def _with_tmp(node: dict[str, Any], tmp: Path) -> dict[str, Any]:
    return yaml.safe_load(yaml.safe_dump(node).replace("{tmp}", str(tmp)))


@pytest.mark.parametrize("node", HOSTILE, ids=lambda n: str(n)[:70])
def test_targets_of_no_allowed_kind_are_refused_before_any_call(
    node: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ALLOWED_ENV, raising=False)
    (tmp_path / "victim").write_text("precious")
    (tmp_path / "other").write_text("overwrite")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(ConfigError) as info:
        build_node(_with_tmp(node, tmp_path))
    message = str(info.value)
    assert (
        "a config builds only" in message
        or "never instantiated" in message
        or ("init_args may not hold Hydra's key(s)" in message)
    ), message
    assert (tmp_path / "victim").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_allowed_kinds_are_built(
    make_module: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import torch

    monkeypatch.delenv(ALLOWED_ENV, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = make_module(
        """
        import torch

        class Plain:  # no role, but the user's own class
            def __init__(self, size: int) -> None:
                self.size = size

        class Squares(torch.utils.data.Dataset):
            def __len__(self):
                return 3

            def __getitem__(self, i):
                return i * i
        """
    )
    assert isinstance(
        build_node({"_target_": "torch.nn.Linear", "_args_": [2, 3]}), torch.nn.Linear
    )
    assert isinstance(build_node({"_target_": "torch.nn.CrossEntropyLoss"}), torch.nn.Module)
    optimizer = build_node({"_target_": "torch.optim.SGD", "_partial_": True, "lr": 0.1})
    assert isinstance(optimizer(torch.nn.Linear(1, 1).parameters()), torch.optim.SGD)
    scheduler = build_node(
        {"_target_": "torch.optim.lr_scheduler.ReduceLROnPlateau", "_partial_": True}
    )
    assert callable(scheduler)
    assert build_node({"class_path": f"{mod}.Plain", "init_args": {"size": 4}}).size == 4
    assert len(build_node({"class_path": f"{mod}.Squares"})) == 3
    assert build_node({"class_path": "pipetune.torch.NaNGuard"}) is not None
    assert build_node({"class_path": "pipetune.loggers.ConsoleLogger"}) is not None
    assert build_node({"_target_": "builtins.dict", "a": 1}) == {"a": 1}


def test_functions_of_own_modules_need_the_allow_list(
    make_module: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ALLOWED_ENV, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = make_module(
        """
        from shutil import copyfile

        def make(size: int) -> list:
            return [0] * size
        """
    )
    with pytest.raises(ConfigError, match=re.escape(f"'{mod}.make' is a function")):
        build_node({"_target_": f"{mod}.make", "size": 2})
    monkeypatch.setenv(ALLOWED_ENV, mod)
    assert build_node({"_target_": f"{mod}.make", "size": 2}) == [0, 0]
    # listed, but defined in shutil: judged where it is defined
    with pytest.raises(ConfigError, match=re.escape("is defined in 'shutil', outside")):
        build_node({"_target_": f"{mod}.copyfile", "src": "a", "dst": "b"})


# -- reported values that are not numbers (issue 15, point 5) --------------------------------

BAD_REPORTER = """
import torch
from ray import tune

from pipetune.pipeline import Trainer

VALUES = {
    "ok": [0.5, 0.4],
    "string": [0.5, "abc"],
    "none_after_a_number": [0.5, None],
    "tensor": [0.5, torch.tensor([0.1, 0.2])],
    "nan": [0.5, float("nan")],
}


class BadReporter(Trainer):
    def __init__(self, mode: str, name: str | None = None):
        super().__init__(name)
        self.mode = mode

    def execute(self, *inputs):
        for value in VALUES[self.mode]:
            tune.report({"val_loss": value})
"""


@pytest.mark.slow
def test_a_metric_that_is_not_a_number_fails_its_trial(make_module: Any, tmp_path: Path) -> None:
    module = make_module(BAD_REPORTER, tmp_path)
    modes = ["ok", "string", "none_after_a_number", "tensor", "nan"]
    config = {
        "mode": "ok",
        "training_pipeline": {
            "class_path": "pipetune.Pipeline",
            "init_args": {
                "steps": [{"class_path": f"{module}.BadReporter", "init_args": {"mode": "${mode}"}}]
            },
        },
        "tune": {
            "metric": "val_loss",
            "mode": "min",
            "num_samples": 1,
            "search_space": {"mode": {"type": "grid_search", "values": modes}},
            "scheduler": "fifo",
            "storage_path": str(tmp_path / "runs"),
            "name": "exp",
            "resources_per_trial": {"cpu": 1},
        },
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    log = tmp_path / "tune.log"
    with tracked() as started:
        driver = start_tune([str(path)], tmp_path, log)
        started.append(driver)
        returncode = driver.wait(timeout=300)
    output = log.read_text()
    assert returncode == 1, output[-3000:]  # failed trials
    rows = {r["config/mode"]: r for r in read_results(tmp_path / "runs" / "exp")}
    assert {mode: rows[mode]["status"] for mode in modes} == {
        "ok": "TERMINATED",
        "string": "ERROR",
        "none_after_a_number": "ERROR",
        "tensor": "ERROR",
        "nan": "DIVERGED",
    }
    assert "metric 'val_loss' = 'abc', which is not a number" in rows["string"]["error"]
    assert "'val_loss' = None, after numbers" in rows["none_after_a_number"]["error"]
    assert "(a tensor of 2 elements)" in rows["tensor"]["error"]
    best = yaml.safe_load((tmp_path / "runs" / "exp" / "best_config.yaml").read_text())
    assert best["mode"] == "ok"


# -- a real run: listening ports and secrets ------------------------------------------------

SECRET = "s3cr3t-9f2c1e"


def _listening() -> dict[int, tuple[str, int]]:
    """Socket inode → (address, port) of every listening TCP socket on this machine."""
    found: dict[int, tuple[str, int]] = {}
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] != "0A":  # LISTEN
                continue
            address, port = fields[1].split(":")
            raw = bytes.fromhex(address)
            # /proc prints the address as 32-bit words in host byte order
            words = struct.unpack(f"<{len(raw) // 4}I", raw)
            packed = struct.pack(f">{len(words)}I", *words)
            found[int(fields[9])] = (socket.inet_ntop(family, packed), int(port, 16))
    return found


def listeners_of(pids: list[int]) -> dict[int, list[tuple[str, int]]]:
    """pid → the (address, port) its sockets listen on."""
    listening = _listening()
    result: dict[int, list[tuple[str, int]]] = {}
    for pid in pids:
        try:
            links = [p.readlink().as_posix() for p in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue  # gone, or not ours to read
        inodes = [int(link[8:-1]) for link in links if link.startswith("socket:[")]
        result[pid] = [listening[i] for i in inodes if i in listening]
    return result


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.fixture(scope="module")
def observed_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`pipetune tune` with a secret in its environment; its Ray's listening sockets are
    sampled while a trial runs."""
    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc")
    folder = tmp_path_factory.mktemp("observed")
    names: list[str] = []

    def make_module(code: str, where: Path) -> str:
        name = f"rel_safety_toy_{os.getpid()}"
        (where / f"{name}.py").write_text(textwrap.dedent(code))
        names.append(name)
        return name

    config = write_config(
        make_module,
        folder,
        epochs=2,
        callbacks=[{"name": "Pause", "args": {"seconds": 1.0}}],
        num_samples=1,
    )
    exp = folder / "runs" / "exp"
    log = folder / "tune.log"
    with tracked() as started:
        driver = start_tune([str(config)], folder, log, env=cli_env(MY_API_TOKEN=SECRET))
        started.append(driver)
        wait_for(lambda: history_lines(exp) >= 1, driver, log, 240, "the first result")
        pids = session_processes(driver.pid)
        sockets = listeners_of(pids)
        commands = {pid: command_line(pid) for pid in pids}
        returncode = driver.wait(timeout=240)
    yield {
        "folder": exp,
        "log": log.read_text(),
        "returncode": returncode,
        "sockets": sockets,
        "commands": commands,
    }
    for name in names:
        sys.modules.pop(name, None)


@pytest.mark.slow
def test_embedded_ray_runs_no_dashboard(observed_run: dict[str, Any]) -> None:
    assert observed_run["returncode"] == 0, observed_run["log"][-3000:]
    sockets: dict[int, list[tuple[str, int]]] = observed_run["sockets"]
    commands: dict[int, str] = observed_run["commands"]
    assert any("raylet" in c for c in commands.values()), "the run's Ray was not observed"
    for pid, listened in sorted(sockets.items()):
        print(pid, commands[pid][:80], sorted(listened))
    ports = {port for listened in sockets.values() for _, port in listened}
    assert 8265 not in ports, "Ray's dashboard port is open"
    # include_dashboard=False leaves Ray's head process for usage stats only: no web
    # frontend, no HTTP server (it listens on nothing)
    heads = [pid for pid, c in commands.items() if "dashboard/dashboard.py" in c]
    for pid in heads:
        assert "--disable-frontend" in commands[pid] and "--minimal" in commands[pid]
        assert sockets.get(pid) == [], f"the dashboard process listens: {sockets.get(pid)}"


@pytest.mark.slow
def test_no_secret_from_the_environment_in_the_experiment_files(
    observed_run: dict[str, Any],
) -> None:
    folder: Path = observed_run["folder"]
    named = ["history.jsonl", "results.csv", "pipetune_meta.json", "pipetune_config.yaml"]
    for name in named:
        assert (folder / name).exists(), name
    assert len(read_results(folder)) == 1
    leaking = [
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and SECRET.encode() in path.read_bytes()
    ]
    assert leaking == []
    assert SECRET not in observed_run["log"]
