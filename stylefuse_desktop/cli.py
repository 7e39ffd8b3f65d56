"""The ``stylefuse`` command line. The only module that prints or exits.

Exit codes: 0 success; 2 bad input (a file, style, weight or option the user gave); 3 the
installation is broken (weights missing or altered); 130 cancelled with Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import __version__, locations
from .errors import BadInputError, Cancelled, StyleFuseError, WeightsError

EXIT_OK, EXIT_BAD_INPUT, EXIT_BROKEN_INSTALL, EXIT_CANCELLED = 0, 2, 3, 130
PROG = "stylefuse"


class TerminalProgress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label, self.enabled = label, enabled
        self.cancelled = False
        self._last = -1

    def report(self, fraction: float, message: str = "") -> None:
        if not self.enabled:
            return
        filled = int(max(0.0, min(1.0, fraction)) * 24)
        if filled == self._last and fraction < 1.0:
            return
        self._last = filled
        sys.stderr.write(f"\r{self.label[:40]:40} [{'#' * filled}{'.' * (24 - filled)}] {message[:24]:24}")
        if fraction >= 1.0:
            sys.stderr.write("\r" + " " * 94 + "\r")
        sys.stderr.flush()


def _error(message: str) -> None:
    sys.stderr.write(f"{PROG}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {value}")
    return value


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as for every other bad input
        _error(message)
        sys.exit(EXIT_BAD_INPUT)


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    parser.add_argument("--tile", type=_positive_int, default=None,
                        help="tile side in pixels (default: chosen from free memory)")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                        help="auto: bfloat16 convolutions in the style transformer where the hardware runs them "
                             "natively, float32 elsewhere (mean |diff| ~0.002)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="StyleFuse: turn your photos into art.")
    parser.add_argument("--version", action="version", version=f"StyleFuse {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the engine does")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    render = commands.add_parser("render", help="stylize photos", description=(
        "Stylize photos at full size. Styles: a built-in name ('stylefuse styles' lists them), a .sfstyle "
        "file or user style name, or any picture; mix several with weights, e.g. --style 'Blue Swirl:0.7' "
        "--style-image painting.jpg:0.3. With no style, the first built-in is used."))
    render.add_argument("inputs", nargs="+", metavar="INPUT", help="photo files or folders of photos")
    render.add_argument("-o", "--output", required=True, help="output file; a folder when there are several "
                        "inputs or a folder (created; file names kept)")
    render.add_argument("--style", action="append", default=[], metavar="NAME_OR_FILE[:W]")
    render.add_argument("--style-image", action="append", default=[], metavar="PATH[:W]",
                        help="a picture (or a folder of pictures, averaged) to use as a style")
    render.add_argument("--strength", type=_float, default=1.0, help="0 (the photo) to 1 (full style); default 1")
    render.add_argument("--preserve-color", action="store_true", help="keep the photo's colours")
    render.add_argument("--scale", type=_float, default=1.0,
                        help="stroke scale: 2 paints strokes twice as large; the output keeps the full size")
    render.add_argument("--max-size", type=_positive_int, default=None,
                        help="shrink photos whose longer side exceeds this many pixels before painting")
    render.add_argument("--max-pixels", type=_positive_int, default=150_000_000,
                        help="refuse images larger than this many pixels (default 150 million)")
    render.add_argument("--quality", type=_positive_int, default=95, help="JPEG/WebP quality (default 95)")
    render.add_argument("--style-mask", action="append", default=[], metavar="STYLE=MASK.png",
                        help="paint STYLE (as named in --style/--style-image) where MASK is light; masks are "
                             "resized to the image. Styles without a mask fill what the masks leave; if every "
                             "style has a mask, the photo shows through where all of them are black")
    _add_engine_options(render)
    render.add_argument("--json", action="store_true", help="print one JSON object per image")

    fuse = commands.add_parser("fuse", help="fuse several photos into one painting", description=(
        "Photos are encoded by the style network, their features blended (by weight, or per pixel by "
        "masks) and painted as one picture in the style."))
    fuse.add_argument("photos", nargs="+", metavar="PHOTO[:W]")
    fuse.add_argument("-o", "--output", required=True)
    fuse.add_argument("--style", action="append", default=[], metavar="NAME_OR_FILE[:W]")
    fuse.add_argument("--style-image", action="append", default=[], metavar="PATH[:W]")
    fuse.add_argument("--mask", action="append", default=[], metavar="PHOTO=MASK.png",
                      help="where PHOTO's features go (light = this photo)")
    fuse.add_argument("--size", default=None, metavar="WxH", help="output size (default: the first photo's)")
    fuse.add_argument("--strength", type=_float, default=1.0)
    fuse.add_argument("--preserve-color", action="store_true")
    fuse.add_argument("--scale", type=_float, default=1.0)
    fuse.add_argument("--quality", type=_positive_int, default=95)
    _add_engine_options(fuse)
    fuse.add_argument("--json", action="store_true")

    styles = commands.add_parser("styles", help="list the styles")
    styles.add_argument("--json", action="store_true")

    sheet = commands.add_parser("sheet", help="a labelled contact sheet of every built-in style on one photo")
    sheet.add_argument("photo")
    sheet.add_argument("-o", "--output", required=True)
    sheet.add_argument("--tile", type=_positive_int, default=320, help="width of each tile in pixels")
    sheet.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])

    train = commands.add_parser("train", help="teach StyleFuse a style or a look from your pictures")
    modes = train.add_subparsers(dest="mode", required=True, parser_class=_Parser)
    style_mode = modes.add_parser("style", help="learn a style from a folder of pictures", description=(
        "Starts from the style the pictures give at once, then trains adversarially so the paintings look "
        "more like your pictures, keeping the photo readable."))
    style_mode.add_argument("--styles", required=True, help="folder of style pictures (1 to 200)")
    style_mode.add_argument("--content", help="folder of your photos to paint while training (default: the "
                            "project's generated landscapes)")
    style_mode.add_argument("--keep-worse", action="store_true",
                            help="save the trained style even when it is no closer to the pictures than the "
                                 "instant style (by default the instant style is saved instead)")
    pairs_mode = modes.add_parser("pairs", help="learn an editing look from before/after pairs", description=(
        "Learns the edit that turns each 'before' picture into its 'after' (matched by file name), and "
        "applies it to any photo."))
    pairs_mode.add_argument("--before", required=True, help="folder of originals")
    pairs_mode.add_argument("--after", required=True, help="folder of edited versions, same file names")
    for mode in (style_mode, pairs_mode):
        mode.add_argument("--name", required=True, help="the style's name")
        mode.add_argument("--out", help="where to write the .sfstyle (default: your styles folder)")
        mode.add_argument("--preset", default="fast", choices=["fast", "balanced", "thorough"])
        mode.add_argument("--steps", type=_positive_int, help="training steps (overrides the preset)")
        mode.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
        mode.add_argument("--resume", action="store_true", help="continue an interrupted run of this name")
        mode.add_argument("--seed", type=int, default=0)
        mode.add_argument("--keep-on-cancel", action="store_true",
                          help="on Ctrl-C, save the style learnt so far (the run stays resumable either way)")
        mode.add_argument("--json", action="store_true", help="print the result as JSON")

    info = commands.add_parser("info", help="version, device and where files live")
    info.add_argument("--json", action="store_true")
    return parser


# -- render ----------------------------------------------------------------------------------------

def _collect_inputs(inputs: list[str]) -> tuple[list[Path], bool, list[str]]:
    """Input files, whether the output is a folder, and problems found while collecting."""
    from .document.image_io import is_image_path

    files: list[Path] = []
    problems: list[str] = []
    folder_mode = len(inputs) > 1
    for text in inputs:
        path = Path(text).expanduser()
        if path.is_dir():
            folder_mode = True
            found = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            images = [p for p in found if is_image_path(p)]
            problems += [f"{p}: skipped, not an image file" for p in found if not is_image_path(p)]
            if not images:
                problems.append(f"{path}: no images in this folder")
            files += images
        else:
            files.append(path)
    return files, folder_mode, problems


def _output_path(source: Path, output: Path, folder_mode: bool) -> Path:
    from .document.image_io import WRITE_FORMATS

    if not folder_mode:
        return output
    suffix = source.suffix.lower() if source.suffix.lower() in WRITE_FORMATS else ".png"
    return output / (source.stem + suffix)


def _report_written(pending, as_json: bool, style: str) -> bool:
    """Wait for a background write; print its result line, or its error. True when written."""
    job, source, target, size, started = pending
    try:
        job.result()
    except BadInputError as exc:
        _error(str(exc))
        return False
    seconds = time.perf_counter() - started
    if as_json:
        print(json.dumps({"input": str(source), "output": str(target), "size": list(size), "style": style,
                          "seconds": round(seconds, 3)}), flush=True)
    else:
        print(f"{target}  ({size[0]}x{size[1]}, {style}, {seconds:.1f} s)", flush=True)
    return True


def _render(args: argparse.Namespace) -> int:
    from .document.image_io import fit_longest_side, output_format, read_image, same_file, write_image
    from .engine.render import RenderSettings, render_image
    from .engine.styles import builtin_styles, parse_mix

    settings = RenderSettings(strength=args.strength, preserve_color=args.preserve_color, scale=args.scale,
                              device=args.device, tile=args.tile, precision=args.precision)
    styles = args.style or ([] if args.style_image else [builtin_styles()[0].name])
    mix = parse_mix(styles, args.style_image)
    style_masks = _style_masks(args.style_mask, styles + args.style_image, mix)
    files, folder_mode, problems = _collect_inputs(args.inputs)
    output = Path(args.output).expanduser()
    if folder_mode:
        if output.exists() and not output.is_dir():
            raise BadInputError(f"{output}: several inputs need an output folder, and this is a file")
    else:
        output_format(output)  # refuse an unknown extension before any work
        if not output.parent.is_dir():
            raise BadInputError(f"{output}: the folder {output.parent} does not exist")
        if files and same_file(files[0], output):
            raise BadInputError(f"{output}: the output would overwrite the input; choose another output name")
    for problem in problems:
        _error(problem)
    if folder_mode and files:
        try:
            output.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BadInputError(f"{output}: cannot create the output folder ({exc.strerror})") from None

    failures = len(problems)
    show_bar = sys.stderr.isatty() and not args.json
    # Encoding a file (zlib, libjpeg: no GIL held) overlaps with painting the next photo.
    with ThreadPoolExecutor(max_workers=1) as writer:
        pending = None
        for source in files:
            target = _output_path(source, output, folder_mode)
            started = time.perf_counter()
            try:
                photo = read_image(source, max_pixels=args.max_pixels)
                if args.max_size:
                    photo = fit_longest_side(photo, args.max_size)
                rgb = render_image(photo.rgb, mix, settings, TerminalProgress(source.name, show_bar), style_masks)
            except BadInputError as exc:
                failures += 1
                _error(str(exc))
                if not folder_mode:
                    return EXIT_BAD_INPUT
                continue
            if pending is not None:
                failures += not _report_written(pending, args.json, mix.label)
            job = writer.submit(write_image, target, photo.with_rgb(rgb), quality=args.quality, protect=(source,))
            pending = (job, source, target, photo.size, started)
        if pending is not None:
            failures += not _report_written(pending, args.json, mix.label)
    return EXIT_BAD_INPUT if failures else EXIT_OK


def _style_masks(specs: list[str], style_specs: list[str], mix) -> list | None:
    """``--style-mask NAME=FILE`` -> one mask (or None) per style of the mix, matched by the name as
    typed (weight suffix optional) or the style's own name."""
    from .document.image_io import read_mask
    from .engine.styles import split_weight

    if not specs:
        return None
    masks: list = [None] * len(mix.components)
    typed = [split_weight(s)[0].strip().lower() for s in style_specs]
    labels = [source.label.strip().lower() for source, _ in mix.components]
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not path:
            raise BadInputError(f"--style-mask '{spec}': expected STYLE=MASK.png")
        key = split_weight(name)[0].strip().lower()
        matches = [i for i in range(len(masks)) if key in (typed[i], labels[i])]
        if not matches:
            raise BadInputError(f"--style-mask '{spec}': no style '{name}' among the given styles")
        masks[matches[0]] = read_mask(path)
    return masks


def _parse_size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    w, sep, h = text.lower().partition("x")
    try:
        size = (int(w), int(h))
    except ValueError:
        raise BadInputError(f"--size '{text}': expected WIDTHxHEIGHT, e.g. 1600x1200") from None
    if not sep or min(size) < 1 or size[0] * size[1] > 200_000_000:
        raise BadInputError(f"--size '{text}': expected WIDTHxHEIGHT, e.g. 1600x1200")
    return size


def _fuse(args: argparse.Namespace) -> int:
    from .document.image_io import Photo, output_format, read_image, read_mask, same_file, write_image
    from .engine.fusion import fuse_photos
    from .engine.render import RenderSettings
    from .engine.styles import builtin_styles, parse_mix, split_weight

    settings = RenderSettings(strength=args.strength, preserve_color=args.preserve_color, scale=args.scale,
                              device=args.device, tile=args.tile, precision=args.precision)
    output = Path(args.output).expanduser()
    output_format(output)
    if not output.parent.is_dir():
        raise BadInputError(f"{output}: the folder {output.parent} does not exist")
    names, weights = zip(*(split_weight(p) for p in args.photos))
    for name in names:
        if same_file(name, output):
            raise BadInputError(f"{output}: the output would overwrite the input; choose another output name")
    masks: list = [None] * len(names)
    for spec in args.mask:
        photo_name, sep, path = spec.partition("=")
        matches = [i for i, n in enumerate(names) if photo_name in (n, Path(n).name)]
        if not sep or not matches:
            raise BadInputError(f"--mask '{spec}': expected PHOTO=MASK.png with PHOTO one of the photos")
        masks[matches[0]] = read_mask(path)
    mix = parse_mix(args.style or ([] if args.style_image else [builtin_styles()[0].name]), args.style_image)
    started = time.perf_counter()
    photos = [read_image(n) for n in names]
    rgb = fuse_photos([p.rgb for p in photos], list(weights), mix, settings,
                      TerminalProgress("fusing", sys.stderr.isatty() and not args.json), masks,
                      _parse_size(args.size))
    target = write_image(output, Photo(rgb=rgb, exif=photos[0].exif), quality=args.quality, protect=names)
    seconds = time.perf_counter() - started
    if args.json:
        print(json.dumps({"inputs": list(names), "weights": list(weights), "output": str(target),
                          "size": [rgb.shape[1], rgb.shape[0]], "style": mix.label, "seconds": round(seconds, 3)}))
    else:
        print(f"{target}  ({rgb.shape[1]}x{rgb.shape[0]}, {mix.label}, {seconds:.1f} s)")
    return EXIT_OK


# -- styles, sheet, info ---------------------------------------------------------------------------

def _styles(args: argparse.Namespace) -> int:
    from .engine.styles import builtin_styles, user_styles

    rows = [{"name": s.name, "kind": "builtin", "index": s.index, "description": s.description}
            for s in builtin_styles()]
    rows += [{"name": s.label, "kind": "user", "style_kind": s.style_file.kind if s.style_file else None,
              "path": str(s.path)} for s in user_styles()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    print("Built-in styles:")
    for row in rows:
        if row["kind"] == "builtin":
            print(f"  {row['name']:18} {row['description']}")
    user = [r for r in rows if r["kind"] == "user"]
    print(f"\nYour styles ({locations.user_styles_dir()}):")
    for row in user:
        print(f"  {row['name']:18} {row['path']}")
    if not user:
        print("  (none yet: train one with 'stylefuse train', or drop .sfstyle files there)")
    return EXIT_OK


def _sheet(args: argparse.Namespace) -> int:
    from .document.image_io import Photo, read_image, write_image
    from .engine.sheet import contact_sheet

    photo = read_image(args.photo)
    sheet = contact_sheet(photo.rgb, tile_width=args.tile, device=args.device,
                          progress=TerminalProgress("contact sheet", sys.stderr.isatty()))
    target = write_image(args.output, Photo(rgb=sheet), protect=(args.photo,))
    print(target)
    return EXIT_OK


def _info(args: argparse.Namespace) -> int:
    import torch

    from .engine.device import describe_device, select_device
    from .engine.weights import weights_are_converted

    facts = {
        "version": __version__,
        "torch": torch.__version__,
        "device": describe_device(select_device("auto")),
        "weights_cache": str(locations.weights_cache_dir()),
        "weights_converted": weights_are_converted(),
        "user_styles": str(locations.user_styles_dir()),
        "user_data": str(locations.data_dir()),
    }
    if args.json:
        print(json.dumps(facts, indent=2))
    else:
        width = max(map(len, facts))
        for key, value in facts.items():
            print(f"{key.replace('_', ' '):{width}}  {value}")
    return EXIT_OK


def _train(args: argparse.Namespace) -> int:
    import signal

    from .training.config import PairsTrainingConfig, StyleTrainingConfig
    from .training.run import save_result, train

    common = dict(name=args.name, preset=args.preset, steps=args.steps, seed=args.seed, device=args.device,
                  output=Path(args.out).expanduser() if args.out else None)
    progress = TerminalProgress(f"training {args.name}", sys.stderr.isatty() and not args.json)
    if args.mode == "style":
        config = StyleTrainingConfig(**common, styles=Path(args.styles).expanduser(),
                                     content=Path(args.content).expanduser() if args.content else None)
    else:
        config = PairsTrainingConfig(**common, before=Path(args.before).expanduser(),
                                     after=Path(args.after).expanduser())
    previous = signal.signal(signal.SIGINT, lambda *_: setattr(progress, "cancelled", True))
    try:
        result = train(config, progress, resume=args.resume)
    finally:
        signal.signal(signal.SIGINT, previous)
    for note in result.skipped:
        _error(f"skipped {note}")
    if result.cancelled and not args.keep_on_cancel:
        _error(f"stopped at step {result.steps_done}; continue with the same command and --resume")
        return EXIT_CANCELLED
    save_result(result, config, keep_worse=getattr(args, "keep_worse", False))
    summary = {"name": config.name, "kind": result.style.kind, "file": str(result.path),
               "steps": result.steps_done, "seconds": round(result.seconds, 1), "metrics": result.metrics,
               "cancelled": result.cancelled, "verdict": result.verdict, "saved": result.saved}
    if result.advice:
        summary["advice"] = result.advice
    if args.json:
        print(json.dumps(summary, indent=2))
        return EXIT_OK
    if result.saved == "zero_shot":
        print(result.advice)
        print(f"Saved the instant style as '{config.name}': {result.path}")
    else:
        if result.advice:  # kept on request although the gate found it no better
            print(result.advice.split(";")[0] + "; kept as asked (--keep-worse).")
        print(f"Learnt '{config.name}' in {result.seconds:.0f} s ({result.steps_done} steps): {result.path}")
    for key, value in _flatten(result.metrics).items():
        print(f"  {key.replace('_', ' ')}: {value}")
    print(f"Use it: stylefuse render photo.jpg -o out.jpg --style \"{config.name}\"")
    return EXIT_OK


def _flatten(metrics: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key} "))
        else:
            out[f"{prefix}{key}"] = value
    return out


COMMANDS = {"render": _render, "fuse": _fuse, "train": _train, "styles": _styles, "sheet": _sheet, "info": _info}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format=f"{PROG}: %(levelname)s: %(message)s")
    try:
        return COMMANDS[args.command](args)
    except BadInputError as exc:
        _error(str(exc))
        return EXIT_BAD_INPUT
    except WeightsError as exc:
        _error(str(exc))
        return EXIT_BROKEN_INSTALL
    except (Cancelled, KeyboardInterrupt):
        _error("cancelled")
        return EXIT_CANCELLED
    except StyleFuseError as exc:
        _error(str(exc))
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
