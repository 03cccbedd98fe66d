"""The agent's configuration: one pydantic model, loadable from TOML or YAML, overridable.

`AgentConfig` nests `LoopConfig` (budgets, retries, loop detection, settling), `SafetyConfig`
(the gate's rules) and `RecordConfig`. Unknown keys are errors, so a typo never silently
falls back to a default. Precedence: defaults < config file < CLI flags, applied with
`apply_overrides(config, {"loop.max_steps": 5, ...})` (dotted keys, validated again).

The safety rules live only here: the gate reads them from config, never from screen text
or model output. Units: seconds, frame px, fractions of pixels (0-1).
"""

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vlagent.agent.errors import ConfigError

DEFAULT_SENSITIVE_LABELS = (
    "pay", "pay now", "buy", "buy now", "purchase", "place order", "order now", "subscribe",
    "delete", "remove account", "uninstall", "factory reset", "erase all", "transfer",
    "send money", "wire money", "grant permission", "allow access", "confirm payment",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SettleConfig(_Strict):
    """Bounded wait for a stable screen after each executed action."""

    enabled: bool = True
    interval_s: float = Field(0.1, ge=0, le=10, description="seconds between captures")
    stable_frames: int = Field(2, ge=0, le=20, description="consecutive matching captures")
    timeout_s: float = Field(3.0, ge=0, le=120, description="longest wait, seconds")
    pixel_threshold: int = Field(8, ge=0, le=255, description="intensity levels per pixel")
    max_changed: float = Field(0.0005, ge=0, le=1, description="fraction of pixels allowed to differ")


class LoopConfig(_Strict):
    """Budgets and the loop's guards."""

    max_steps: int = Field(30, ge=1, le=10_000)
    max_seconds: float = Field(600.0, gt=0, description="wall-time budget of the episode, seconds")
    step_timeout_s: float = Field(120.0, gt=0, description="longest one policy call may take, seconds")
    max_action_seconds: float = Field(
        30.0, ge=0, description="cap on a wait's or a gesture's duration, seconds (also capped by the budget left)")
    parse_retries: int = Field(2, ge=0, le=20, description="extra attempts after unparseable output")
    repeat_limit: int = Field(3, ge=2, le=50, description="same action on an unchanged screen this many times -> re-plan")
    stop_on_success: bool = Field(False, description="end as soon as the success check passes")
    dry_run: bool = Field(False, description="decide and record everything, execute nothing")
    settle: SettleConfig = Field(default_factory=SettleConfig)


class SafetyConfig(_Strict):
    """The gate between policy and actuator. Matching is case-insensitive on whole words."""

    enabled: bool = True
    sensitive_labels: list[str] = Field(default_factory=lambda: list(DEFAULT_SENSITIVE_LABELS))
    nearby_px: float = Field(24.0, ge=0, description="frame px around a tap whose text also counts")
    check_secrets: bool = Field(True, description="card numbers, keys, passwords in typed text")
    secret_patterns: list[str] = Field(default_factory=list, description="extra regexes for typed text")
    app_allowlist: list[str] | None = Field(None, description="None: any app; else names/packages (fnmatch globs)")
    unverifiable: Literal["confirm", "allow"] = Field(
        "confirm", description="a point or stroke action on a frame with no UI tree: 'confirm' (ask when "
        "interactive, deny when headless) or 'allow' (trust the policy's own target label only)")
    interactive: bool | None = Field(None, description="None: ask only when stdin is a terminal")
    on_block: Literal["stop", "continue"] = Field("stop", description="after a denied action")


class RecordConfig(_Strict):
    dir: Path | None = None
    frame_format: Literal["png", "webp"] = "png"
    overwrite: bool = False


class RobotConfig(_Strict):
    """The ROS 2 control node (`vlagent ros2-node`): topics, rates, watchdog and velocity limits.

    Units: Hz, seconds, m/s, rad/s, m/s^2, rad/s^2. A decision is re-sent every control period
    for at most `ttl_s` after it arrived (and no longer than its own `seconds`); then zero.
    """

    camera_topic: str = Field("/camera/image_raw", min_length=1)
    compressed: bool = Field(False, description="the camera topic carries sensor_msgs/CompressedImage")
    cmd_vel_topic: str = Field("/cmd_vel", min_length=1)
    stamped: bool = Field(False, description="publish TwistStamped (Jazzy controllers) instead of Twist")
    frame_id: str = Field("base_link", min_length=1, description="frame of a TwistStamped")
    goal_topic: str = Field("/goal_pose", min_length=1, description="geometry_msgs/PoseStamped for NavigateTo")
    estop_topic: str = Field("/estop", min_length=1, description="std_msgs/Bool; true holds the robot at zero")
    text_topic: str = Field("/vlagent/model_text", min_length=1, description="std_msgs/String, the model's text")
    decision_topic: str = Field("/vlagent/decision", min_length=1,
                                description="geometry_msgs/TwistStamped, each decision as decided (before ramping)")
    info_topic: str = Field("/vlagent/decision_info", min_length=1,
                            description="std_msgs/String, one JSON per decision: step, action, frame stamp and age, "
                                        "the policy's grounding and stage timings (ms)")
    backend: Literal["auto", "cyclonedds", "rclpy"] = "auto"
    rate_hz: float = Field(20.0, ge=1, le=100, description="control loop rate")
    ttl_s: float = Field(0.5, gt=0, le=10, description="longest a decision is re-sent, seconds")
    max_frame_age_s: float = Field(0.5, gt=0, le=10, description="oldest camera frame handed to the policy")
    frame_wait_s: float = Field(2.0, ge=0, le=60, description="wait for a fresh frame before counting a timeout")
    max_linear: float = Field(0.5, gt=0, le=10, description="|linear| clamp, m/s")
    max_angular: float = Field(1.0, gt=0, le=20, description="|angular| clamp, rad/s")
    max_linear_accel: float = Field(1.0, gt=0, le=100, description="speeding-up limit, m/s^2")
    max_angular_accel: float = Field(2.0, gt=0, le=200, description="speeding-up limit, rad/s^2")
    max_wait_s: float = Field(30.0, ge=0, le=3600, description="longest a Wait action holds the robot, seconds")
    policy_error_limit: int = Field(3, ge=1, le=100, description="consecutive policy failures that end the node")


class AgentConfig(_Strict):
    env: str = "sim-phone"
    env_options: dict[str, Any] = Field(default_factory=dict)
    task: str | None = None
    policy: str = "oracle"
    policy_options: dict[str, Any] = Field(default_factory=dict)
    loop: LoopConfig = Field(default_factory=LoopConfig)
    safety: SafetyConfig = Field(default_factory=SafetyConfig)
    record: RecordConfig = Field(default_factory=RecordConfig)
    robot: RobotConfig = Field(default_factory=RobotConfig)


def _describe(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in item['loc']) or '<root>'}: {item['msg']}"
        for item in error.errors(include_url=False)
    )


def config_from_dict(data: dict[str, Any], origin: str = "config") -> AgentConfig:
    """Validate a nested dict into an AgentConfig; ConfigError names every bad key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: the top level must be a table/mapping, got {type(data).__name__}")
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"{origin}: {_describe(error)}") from None


def _read_yaml(text: str, origin: str) -> Any:
    try:
        import yaml
    except ImportError:
        raise ConfigError(f"{origin}: reading YAML needs PyYAML (pip install pyyaml), or use TOML") from None
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{origin}: not valid YAML: {error}") from None


def _toml_module(origin: str) -> Any:
    try:
        import tomllib  # Python >= 3.11
    except ImportError:
        try:
            import tomli as tomllib  # the same API, for Python 3.10
        except ImportError:
            raise ConfigError(f"{origin}: reading TOML on Python 3.10 needs tomli (pip install tomli)") from None
    return tomllib


def load_config(path: str | Path) -> AgentConfig:
    """Read an AgentConfig from a .toml, .yaml/.yml or .json file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml", ".json"):
        raise ConfigError(f"{path}: unknown config format {suffix!r}; use .toml, .yaml, .yml or .json")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config {path}: {getattr(error, 'strerror', None) or error}") from None
    if suffix == ".toml":
        toml = _toml_module(str(path))
        try:
            data = toml.loads(text)
        except toml.TOMLDecodeError as error:
            raise ConfigError(f"{path}: not valid TOML: {error}") from None
    elif suffix in (".yaml", ".yml"):
        data = _read_yaml(text, str(path))
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(f"{path}: not valid JSON: {error}") from None
    return config_from_dict(data, str(path))


def apply_overrides(config: AgentConfig, overrides: dict[str, Any]) -> AgentConfig:
    """A new config with dotted keys replaced ({"loop.max_steps": 5}); None values are skipped."""
    data = config.model_dump()
    for dotted, value in overrides.items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for name in parents:
            child = node.get(name)
            if not isinstance(child, dict):
                raise ConfigError(f"override {dotted!r}: {name!r} is not a section")
            node = child
        if leaf not in node:
            raise ConfigError(f"override {dotted!r}: unknown key {leaf!r}")
        node[leaf] = value
    return config_from_dict(data, "overrides")
