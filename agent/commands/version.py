"""`vlagent version`: print the package version and the versions of the runtime libraries."""

import typer


def version(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also list the runtime libraries."),
) -> None:
    """Print vlagent's version."""
    from importlib import metadata

    from vlagent.agent import __version__

    typer.echo(f"vlagent {__version__}")
    if verbose:
        for dist in ("numpy", "onnxruntime", "pillow", "pydantic", "tokenizers"):
            try:
                typer.echo(f"{dist} {metadata.version(dist)}")
            except metadata.PackageNotFoundError:
                typer.echo(f"{dist} (not installed)")
