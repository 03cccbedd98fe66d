"""The installed namespace: everything installs under `vlagent.*`, nothing generic lands in
site-packages, for the editable install the tests run on and for a wheel."""

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("agent", "perception", "actuators", "policies", "sim")


def _listed_packages() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"] == {f"vlagent.{name}": name for name in FOLDERS}
    return set(config["packages"])


def test_every_folder_with_python_or_data_is_a_listed_package():
    wanted = set()
    for folder in FOLDERS:
        for path in [ROOT / folder, *(ROOT / folder).rglob("*")]:
            if path.is_dir() and path.name != "__pycache__" and any(
                    child.suffix in (".py", ".json", ".onnx", ".npy") for child in path.iterdir()):
                wanted.add("vlagent." + path.relative_to(ROOT).as_posix().replace("/", "."))
    assert wanted == _listed_packages()


def test_editable_install_exposes_only_the_namespace(tmp_path):
    code = ("import importlib.util, vlagent.agent.cli, vlagent.sim.phone; "
            f"assert all(importlib.util.find_spec(n) is None for n in {FOLDERS!r}); "
            "print(vlagent.agent.cli.__file__)")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == ROOT / "agent" / "cli.py"


def test_wheel_installs_only_vlagent_and_runs_the_demo(tmp_path):
    built = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist"), str(ROOT)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next((tmp_path / "dist").glob("vlagent-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"vlagent", wheel.name.split("-py3")[0] + ".dist-info"}
    assert "vlagent/perception/demo_model/decoder.onnx" in names
    assert "vlagent/perception/robot_model/decoder.onnx" in names and "vlagent/perception/robot_model/manifest.json" in names
    assert not any(name.startswith("vlagent/__init__") for name in names)  # an implicit namespace package

    # The dependencies come from this interpreter's site-packages; vlagent itself from the wheel.
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                              str(wheel)], capture_output=True, text=True, timeout=300)
    if install.returncode != 0 and "no such option: --python" in install.stderr:  # pip < 22.3
        install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                                  str(next((env_dir / "lib").glob("python3*")) / "site-packages"), str(wheel)],
                                 capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    where = subprocess.run([str(python), "-c", "import vlagent.agent.cli as c; print(c.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    assert where.returncode == 0 and Path(where.stdout.strip()).is_relative_to(env_dir), where
    demo = subprocess.run([str(env_dir / "bin" / "vlagent"), "demo", "--tasks", "settings.wifi_on:1001",
                           "--out", str(tmp_path / "demo")], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert (tmp_path / "demo" / "summary.json").is_file() and (tmp_path / "demo" / "index.html").is_file()
