"""`vlagent sim-device`: serve a simulated phone as an adb device until SIGTERM or Ctrl-C.

Prints `sim-device listening on HOST:PORT` once the port is open (with `--port 0` the
system picks the port), so a script can wait for that line and then `adb connect` it.
"""

import typer


def sim_device(
    port: int = typer.Option(5555, "--port", "-p", help="TCP port to listen on (0: any free port)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    seed: int = typer.Option(0, "--seed", help="Seed of the simulated phone and task."),
    task: str | None = typer.Option(None, "--task", help="Set the phone up for this sim task."),
    width: int = typer.Option(1080, "--width", help="Panel width in device px (natural orientation)."),
    height: int = typer.Option(2400, "--height", help="Panel height in device px (natural orientation)."),
    rotation: int = typer.Option(0, "--rotation", help="Display rotation in quarter turns (0-3)."),
    density: int = typer.Option(420, "--density", help="Display density in dpi."),
    model: str = typer.Option("vlagent_sim", "--model", help="ro.product.model (shown by `adb devices -l`)."),
    secure: bool = typer.Option(False, "--secure", help="Capture black frames, as FLAG_SECURE screens do."),
    adb_keyboard: bool = typer.Option(True, "--adb-keyboard/--no-adb-keyboard",
                                      help="Whether ADBKeyboard's IME is installed."),
    state_file: str | None = typer.Option(None, "--state-file",
                                          help="Persist the phone state here; resume from it when it exists."),
) -> None:
    """Serve the simulated phone over the adb protocol (`adb connect HOST:PORT`)."""
    import asyncio
    import signal

    from vlagent.agent.errors import ConfigError, VlagentError
    from vlagent.sim.adbd.device import DeviceConfig, SimDevice
    from vlagent.sim.adbd.server import serve

    try:
        config = DeviceConfig(width=width, height=height, rotation=rotation, seed=seed, task=task,
                              density=density, model=model, secure=secure, adb_keyboard=adb_keyboard,
                              state_file=state_file)
        device = SimDevice(config)
    except VlagentError:
        raise  # an unknown task, a bad size: the CLI boundary says it in one line
    except (ValueError, KeyError) as error:  # DeviceConfig's own field checks
        raise ConfigError(f"sim-device: {error}") from None

    def ready(bound: int) -> None:
        typer.echo(f"sim-device listening on {host}:{bound}")

    async def main() -> None:
        task_ = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task_.cancel)
        try:
            await serve(device, host, port, ready)
        except asyncio.CancelledError:
            pass

    try:
        asyncio.run(main())
    except OSError as error:
        typer.echo(f"sim-device: cannot listen on {host}:{port}: {error}", err=True)
        raise typer.Exit(1) from None
