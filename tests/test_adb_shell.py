"""The simulated device's shell behaves like Android's mksh where escaping bugs would show,
and its `input text` enforces what Android's does."""

import pytest

from vlagent.sim.adbd.input_cmd import decode_input_text
from vlagent.sim.adbd.shell import Output, Shell
from vlagent.sim.adbd.shparse import ShellSyntaxError, parse


def recording_shell() -> Shell:
    def echo_argv(argv, stdin):
        return Output(("|".join(argv[1:]) + "\n").encode())

    return Shell({"input": echo_argv, "reboot": echo_argv, "id": lambda argv, stdin: Output(b"uid=2000\n")})


@pytest.mark.parametrize("line, argvs", [
    ("input text 'a b;c'", [["input", "text", "a b;c"]]),
    ("input text a;reboot", [["input", "text", "a"], ["reboot"]]),
    ("input text a&&reboot", [["input", "text", "a"], ["reboot"]]),
    ("input text a|reboot", [["input", "text", "a"], ["reboot"]]),
    ("input text $(reboot)", [["reboot"], ["input", "text"]]),
    ("input text `id`", [["id"], ["input", "text", "uid=2000"]]),
    ("input text \"$(id)\"", [["id"], ["input", "text", "uid=2000"]]),
    ("input text a b", [["input", "text", "a", "b"]]),
    ("input text a\\ b", [["input", "text", "a b"]]),
    ("input text #x", [["input", "text"]]),
    ("input text a#b", [["input", "text", "a#b"]]),
    ("input text \"it's \\$HOME $HOME\"", [["input", "text", "it's $HOME /"]]),
    ("input text 'it'\\''s'", [["input", "text", "it's"]]),
    ("input text ''", [["input", "text", ""]]),
    ("input text $UNSET", [["input", "text"]]),
    ("input text 'a\nb'", [["input", "text", "a\nb"]]),
])
def test_words_and_operators_follow_sh(line, argvs):
    shell = recording_shell()
    shell.run(line)
    assert shell.log == argvs


@pytest.mark.parametrize("line", ["input text (x", "input text a)", "input text 'open", "input text \"open",
                                  "input text `open", "input text $(open", "; input text a", "input text a && "])
def test_syntax_errors_run_nothing(line):
    shell = recording_shell()
    out = shell.run(line)
    assert out.code != 0 and b"syntax error" in out.stderr
    assert shell.log == []
    with pytest.raises(ShellSyntaxError):
        parse(line)


def test_unknown_command_is_127_and_exit_status_flows():
    shell = recording_shell()
    out = shell.run("nosuch; echo X4EXIT:$?")
    assert out.stdout == b"X4EXIT:127\n" and b"nosuch: inaccessible or not found" in out.stderr
    assert shell.run("false && echo no || echo yes").stdout == b"yes\n"


def test_redirection_writes_the_sim_file_system_only():
    shell = recording_shell()
    shell.run("input text a>/sdcard/out")
    assert shell.files["/sdcard/out"] == b"text|a\n" and shell.log == [["input", "text", "a"]]
    assert shell.run("echo hi 2>/dev/null").stdout == b"hi\n"


@pytest.mark.parametrize("typed, shown", [
    ("hello%sworld", "hello world"), ("%s%s", "  "), ("100%%ssure", "100% sure"), ("a%", "a%"),
    ("%x", "%x"), ("50%", "50%"), ("%%s", "% "),
])
def test_input_text_percent_s_rewrite_matches_android(typed, shown):
    assert decode_input_text(typed) == shown


@pytest.fixture(scope="module")
def sim_device():
    from vlagent.sim.adbd.device import DeviceConfig, SimDevice

    return SimDevice(DeviceConfig(width=540, height=1200))


def test_device_pipelines_and_rotation_lines(sim_device):
    focus = sim_device.run("dumpsys window | grep mCurrentFocus")
    assert focus.code == 0 and b"com.android.launcher3" in focus.stdout and focus.stdout.count(b"\n") == 1
    assert sim_device.run("dumpsys display | grep -o 'orientation=[0-9]' | head -n 1").stdout == b"orientation=0\n"
    assert sim_device.run("wm size").stdout == b"Physical size: 540x1200\n"
    assert sim_device.run("nosuch | grep x").code == 1


def test_device_input_text_refuses_non_ascii_and_ime_needs_selecting(sim_device):
    sim_device.reset(None, 0)
    refused = sim_device.run("input text héllo")
    assert refused.code != 0 and b"Exception occurred while executing 'text'" in refused.stderr
    text = "aMOpbGxv"  # base64 of "héllo"
    before = sim_device.state_json()
    sim_device.run(f"am broadcast -a ADB_INPUT_B64 --es msg {text}")
    assert sim_device.state_json() == before  # ADBKeyboard is installed but not the selected IME: dropped
    assert sim_device.run("ime set com.android.adbkeyboard/.AdbIME").code != 0  # not enabled yet
    assert sim_device.run("ime enable com.android.adbkeyboard/.AdbIME && ime set com.android.adbkeyboard/.AdbIME").code == 0
    assert sim_device.run("settings get secure default_input_method").stdout == b"com.android.adbkeyboard/.AdbIME\n"
