"""The ``stylefuse`` command line. The only module that prints or exits.

Exit codes: 0 success; 2 bad input (a file, style, weight or option the user gave); 3 the
installation is broken (weights missing or altered); 130 cancelled with Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from . import __version__, locations
from .devices import DEVICE_CHOICES
from .errors import BadInputError, Cancelled, StyleFuseError, WeightsError

if TYPE_CHECKING:  # a command imports what it needs when it runs (start-up time)
    import numpy as np

    from .document.image_io import Photo
    from .engine.styles import StyleMix

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


@contextlib.contextmanager
def _loading_modules() -> Iterator[None]:
    """Import the engine with the cyclic garbage collector paused, and move what the import made out of
    its sight. torch's import makes ~200k objects that live as long as the process; the collector's
    passes over them took ~0.25 s of CPU during the import and, once they had joined the oldest
    generation, more at each full collection after it. Meanwhile only the folder pipeline's readers
    run, and they make no reference cycles."""
    enabled, modules = gc.isenabled(), len(sys.modules)
    gc.disable()
    try:
        yield
    finally:
        if len(sys.modules) > modules:  # a first import: its objects are never garbage
            gc.freeze()
        if enabled:
            gc.enable()


def _error(message: object) -> None:
    """One line on stderr, whatever the message holds (names from files may carry escape sequences)."""
    from .document.user_files import one_line

    sys.stderr.write(f"{PROG}: error: {one_line(message)}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {value}")
    return value


def _quality(text: str) -> int:
    value = _positive_int(text)
    if value > 100:
        raise argparse.ArgumentTypeError(f"expected a quality from 1 to 100, got {value}")
    return value


MAX_SEED = 2**32 - 1


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text[:40]}'") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected a seed from 0 to {MAX_SEED}, got {text[:40]}")
    return value


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text[:40]}'") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number, got '{text[:40]}'")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, as for every other bad input
        _error(message)
        sys.exit(EXIT_BAD_INPUT)


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    parser.add_argument("--tile", type=_positive_int, default=None,
                        help="tile side in pixels (default: chosen from free memory)")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                        help="auto and fp32: float32 convolutions; bf16: the style transformer's in bfloat16, "
                             "faster on CPUs with native bf16 (mean |diff| ~0.002; a result with NaN is painted "
                             "again in fp32)")


def _add_stroke_options(parser: argparse.ArgumentParser) -> None:
    from .engine.stroke_size import EMBEDDING_FAMILY, MULTISTYLE_FAMILY, REFERENCE_SIDE

    group = parser.add_mutually_exclusive_group()
    group.add_argument("--stroke-size", type=_float, default=1.0, metavar="S", help=(
        "stroke size relative to the picture, as in the editor (default 1: the network paints the long "
        f"side at {REFERENCE_SIDE[MULTISTYLE_FAMILY]} px for built-ins and {REFERENCE_SIDE[EMBEDDING_FAMILY]} px "
        "for picture and trained styles, so every size of a photo gets the same look; 2: strokes twice as "
        "large). The output keeps the photo's full size"))
    group.add_argument("--scale", type=_float, default=None, metavar="X", help=(
        "absolute mode instead: the network paints at 1/X of the output size whatever the photo's size "
        "(--scale 1 paints at full output size: fine strokes on large photos)"))


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
    _add_stroke_options(render)
    render.add_argument("--max-size", type=_positive_int, default=None,
                        help="shrink photos whose longer side exceeds this many pixels before painting")
    render.add_argument("--max-pixels", type=_positive_int, default=150_000_000,
                        help="refuse images larger than this many pixels (default 150 million)")
    render.add_argument("--quality", type=_quality, default=95, help="JPEG/WebP quality, 1 to 100 (default 95)")
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
    _add_stroke_options(fuse)
    fuse.add_argument("--quality", type=_quality, default=95)
    _add_engine_options(fuse)
    fuse.add_argument("--json", action="store_true")

    styles = commands.add_parser("styles", help="list the styles")
    styles.add_argument("--json", action="store_true")

    sheet = commands.add_parser("sheet", help="a labelled contact sheet of every built-in style on one photo")
    sheet.add_argument("photo")
    sheet.add_argument("-o", "--output", required=True)
    sheet.add_argument("--tile", type=_positive_int, default=320, help="width of each tile in pixels")
    sheet.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    _add_stroke_options(sheet)

    train = commands.add_parser("train", help="teach StyleFuse a style or a look from your pictures")
    modes = train.add_subparsers(dest="mode", required=True, parser_class=_Parser)
    style_mode = modes.add_parser("style", help="learn a style from a folder of pictures", description=(
        "Starts from the style the pictures give at once, then trains adversarially so the paintings look "
        "more like your pictures, keeping the photo readable."))
    style_mode.add_argument("--styles", required=True, help="folder of style pictures (1 to 200)")
    style_mode.add_argument("--content", help="folder of your photos to paint while training (default: the "
                            "project's generated landscapes and detail photos)")
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
        mode.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
        mode.add_argument("--resume", action="store_true", help="continue an interrupted run of this name")
        mode.add_argument("--seed", type=_seed, default=0, help=f"0 to {MAX_SEED}")
        mode.add_argument("--keep-on-cancel", action="store_true",
                          help="on Ctrl-C, save the style learnt so far (the run stays resumable either way)")
        mode.add_argument("--json", action="store_true", help="print the result as JSON")

    info = commands.add_parser("info", help="version, device and where files live")
    info.add_argument("--json", action="store_true")
    return parser


# -- render ----------------------------------------------------------------------------------------

def _collect_inputs(inputs: list[str]) -> tuple[list[Path], list[Path], bool, list[str]]:
    """Input files, the folders they came from, whether the output is a folder, and problems found
    while collecting."""
    from .document.image_io import is_image_path
    from .document.user_files import user_path

    files: list[Path] = []
    folders: list[Path] = []
    problems: list[str] = []
    folder_mode = len(inputs) > 1
    for text in inputs:
        path = user_path(text)
        if path.is_dir():
            folder_mode = True
            folders.append(path)
            found = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            images = [p for p in found if is_image_path(p)]
            problems += [f"{p}: skipped, not an image file" for p in found if not is_image_path(p)]
            if not images:
                problems.append(f"{path}: no images in this folder")
            files += images
        else:
            files.append(path)
    return files, folders, folder_mode, problems


def _output_path(source: Path, output: Path, folder_mode: bool) -> Path:
    from .document.image_io import WRITE_FORMATS

    if not folder_mode:
        return output
    suffix = source.suffix.lower() if source.suffix.lower() in WRITE_FORMATS else ".png"
    return output / (source.stem + suffix)


def _render(args: argparse.Namespace) -> int:
    from .document.image_io import WRITE_FORMATS, fit_longest_side, read_image, write_image
    from .document.output_plan import plan_outputs
    from .document.user_files import PixelLimitError
    from .engine.pipeline import FolderPipeline
    from .engine.styles import builtin_styles, parse_mix

    styles = args.style or ([] if args.style_image else [builtin_styles()[0].name])
    mix = parse_mix(styles, args.style_image)
    style_masks = _style_masks(args.style_mask, styles + args.style_image, mix)
    files, read_folders, folder_mode, problems = _collect_inputs(args.inputs)
    output = Path(args.output).expanduser()
    if folder_mode and output.exists() and not output.is_dir():
        raise BadInputError(f"{output}: several inputs need an output folder, and this is a file")
    targets = [_output_path(source, output, folder_mode) for source in files] if files else []
    if folder_mode:
        if not output.parent.is_dir():
            raise BadInputError(f"{output}: the folder {output.parent} does not exist")
    else:
        targets = [output]
    plan_outputs(targets, WRITE_FORMATS, inputs=files + _mask_paths(args.style_mask), read_folders=read_folders,
                 sources=files if folder_mode else None, folder_to_create=output if folder_mode else None)
    for problem in problems:
        _error(problem)
    if folder_mode and files:
        try:
            output.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BadInputError(f"{output}: cannot create the output folder ({exc.strerror})") from None

    target_of = dict(zip(files, targets))

    # 8-bit pixels stay 8-bit for a GPU, which converts them itself (a CPU render converts them while
    # preparing); shrinking works on floats
    eight_bit = args.device != "cpu" and not args.max_size

    def read(source: Path) -> Photo:
        try:
            photo = read_image(source, max_pixels=args.max_pixels, eight_bit=eight_bit)
        except PixelLimitError as exc:
            raise BadInputError(f"{exc}; --max-pixels raises the limit") from None
        return fit_longest_side(photo, args.max_size) if args.max_size else photo

    # the first photos decode while torch loads
    pipeline = FolderPipeline(files, read, lambda exc: isinstance(exc, BadInputError))
    try:
        with _loading_modules():
            from .engine.device import folder_batch, select_device

            device = select_device(args.device)  # first: a GPU's set-up goes on while the rest loads
            from .engine.render import RenderSettings, render_batch, render_image

        settings = RenderSettings(strength=args.strength, preserve_color=args.preserve_color,
                                  stroke_size=args.stroke_size, scale=args.scale, device=args.device, tile=args.tile,
                                  precision=args.precision)
        # a GPU hands back finished 8-bit pixels; a CPU render leaves the conversion to the encoders
        as_uint8 = device.type != "cpu"
        batch = 1 if style_masks else folder_batch(device)
    except BaseException:
        pipeline.close()
        raise
    show_bar = sys.stderr.isatty() and not args.json

    def paint(group: Sequence[tuple[Path, Photo]]) -> list[Photo]:
        if len(group) > 1:  # same-sized photos, one pass of the network (GPU)
            painted = render_batch([photo.rgb for _, photo in group], mix, settings, as_uint8=as_uint8)
        else:
            source, photo = group[0]
            painted = [render_image(photo.rgb, mix, settings, TerminalProgress(source.name, show_bar), style_masks,
                                    as_uint8=as_uint8)]
        return [photo.with_rgb(rgb) for (_, photo), rgb in zip(group, painted)]

    def write(source: Path, painted: Photo) -> None:
        write_image(target_of[source], painted, quality=args.quality, protect=(source,))

    failures = len(problems)
    for result in pipeline.run(paint, write, batch=batch):
        target = target_of[result.job]
        if result.error is not None:
            failures += 1
            _error(result.error)
            continue
        assert result.size is not None  # a photo that was painted was read
        if args.json:
            print(json.dumps({"input": str(result.job), "output": str(target), "size": list(result.size),
                              "style": mix.label, "seconds": round(result.seconds, 3)}), flush=True)
        else:
            size = result.size
            print(f"{target}  ({size[0]}x{size[1]}, {mix.label}, {result.seconds:.1f} s)", flush=True)
    return EXIT_BAD_INPUT if failures else EXIT_OK


def _mask_paths(specs: list[str]) -> list[Path]:
    return [Path(spec.partition("=")[2]).expanduser() for spec in specs if spec.partition("=")[2]]


def _style_masks(specs: list[str], style_specs: list[str], mix: StyleMix) -> list[np.ndarray | None] | None:
    """``--style-mask NAME=FILE`` -> one mask (or None) per style of the mix, matched by the name as
    typed (weight suffix optional) or the style's own name."""
    from .document.image_io import read_mask
    from .engine.styles import split_weight

    if not specs:
        return None
    masks: list[np.ndarray | None] = [None] * len(mix.components)
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
    from .document.image_io import WRITE_FORMATS, Photo, read_image, read_mask, write_image
    from .document.output_plan import plan_outputs
    with _loading_modules():
        from .engine.fusion import fuse_photos
        from .engine.render import RenderSettings
    from .engine.styles import builtin_styles, parse_mix, split_weight

    settings = RenderSettings(strength=args.strength, preserve_color=args.preserve_color,
                              stroke_size=args.stroke_size, scale=args.scale, device=args.device, tile=args.tile,
                              precision=args.precision)
    output = Path(args.output).expanduser()
    names, weights = zip(*(split_weight(p) for p in args.photos))
    for name, weight in zip(names, weights):
        if not 0.0 <= weight <= 1e6:
            raise BadInputError(f"photo '{name}': the weight must be a number from 0 to 1e6, got {weight:g}")
    if sum(weights) <= 0:
        raise BadInputError("the photo weights add up to zero; give at least one a positive weight")
    plan_outputs([output], WRITE_FORMATS, inputs=[Path(n) for n in names] + _mask_paths(args.mask))
    masks: list[np.ndarray | None] = [None] * len(names)
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
    from .document.style_catalogue import builtin_styles, stored_styles
    from .document.user_files import printable

    rows = [{"name": s.name, "kind": "builtin", "index": s.index, "description": s.description}
            for s in builtin_styles()]
    rows += [{"name": printable(s.name), "kind": s.kind.value, "style_kind": s.style.kind,
              "path": printable(s.path, 1000)} for s in stored_styles()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    print("Built-in styles:")
    for row in rows:
        if row["kind"] == "builtin":
            print(f"  {row['name']:18} {row['description']}")
    user = [r for r in rows if r["kind"] != "builtin"]
    print(f"\nYour styles ({locations.user_styles_dir()}):")
    for row in user:
        print(f"  {row['name']:18} {row['path']}")
    if not user:
        print("  (none yet: train one with 'stylefuse train', or drop .sfstyle files there)")
    return EXIT_OK


def _sheet(args: argparse.Namespace) -> int:
    from .document.image_io import WRITE_FORMATS, Photo, read_image, write_image
    from .document.output_plan import plan_outputs
    with _loading_modules():
        from .engine.render import RenderSettings
        from .engine.sheet import contact_sheet

    plan_outputs([args.output], WRITE_FORMATS, inputs=[args.photo])  # before painting 26 styles
    photo = read_image(args.photo)
    settings = RenderSettings(stroke_size=args.stroke_size, scale=args.scale, device=args.device)
    sheet = contact_sheet(photo.rgb, tile_width=args.tile, settings=settings,
                          progress=TerminalProgress("contact sheet", sys.stderr.isatty()))
    target = write_image(args.output, Photo(rgb=sheet), protect=(args.photo,))
    print(target)
    return EXIT_OK


def _info(args: argparse.Namespace) -> int:
    with _loading_modules():
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

    with _loading_modules():
        from .training.config import PairsTrainingConfig, StyleTrainingConfig, kept_snapshot_notes, next_preset
        from .training.run import save_result, train

    if args.out:
        _plan_style_output(args)
    common = dict(name=args.name, preset=args.preset, steps=args.steps, seed=args.seed, device=args.device,
                  output=Path(args.out).expanduser() if args.out else None)
    progress = TerminalProgress(f"training {args.name}", sys.stderr.isatty() and not args.json)
    config: StyleTrainingConfig | PairsTrainingConfig
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
        longer = next_preset(config.preset)
        if longer and not result.cancelled:  # the run's checkpoint is kept: a longer preset continues it
            print(f"To train longer from where this run stopped: the same command with --preset {longer} --resume")
    else:
        if result.advice:  # kept on request although the gate found it no better
            print(result.advice.split(";")[0] + "; kept as asked (--keep-worse).")
        print(f"Learnt '{config.name}' in {result.seconds:.0f} s ({result.steps_done} steps): {result.path}")
        for note in kept_snapshot_notes(result.metrics.get("validation") or {}):
            print(note)
    for key, value in _flatten(result.metrics).items():
        print(f"  {key.replace('_', ' ')}: {value}")
    print(f"Use it: stylefuse render photo.jpg -o out.jpg --style \"{config.name}\"")
    return EXIT_OK


def _plan_style_output(args: argparse.Namespace) -> None:
    """``train --out``: a .sfstyle that overwrites none of the pictures being learnt from."""
    from .document.output_plan import plan_outputs
    from .document.style_file import STYLE_EXTENSION

    folders = [Path(f).expanduser() for f in (getattr(args, "styles", None), getattr(args, "content", None),
                                             getattr(args, "before", None), getattr(args, "after", None)) if f]
    folders = [f for f in folders if f.is_dir()]
    pictures = [p for f in folders for p in f.iterdir() if p.is_file()]
    plan_outputs([args.out], (STYLE_EXTENSION,), inputs=pictures, read_folders=folders)


def _flatten(metrics: dict[str, object], prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key} "))
        else:
            out[f"{prefix}{key}"] = value
    return out


COMMANDS = {"render": _render, "fuse": _fuse, "train": _train, "styles": _styles, "sheet": _sheet, "info": _info}


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit code. Called without ``argv`` (the ``stylefuse`` command,
    ``python -m stylefuse_desktop.cli``) the process is this command alone, and it ends here."""
    code = _run(argv)
    if argv is None:
        _end_process(code)
    return code


def _end_process(code: int) -> NoReturn:
    """Leave without Python's shutdown. Tearing down the modules torch loads took ~0.5 s of CPU (one
    whole-process render of a 1024 px photo is ~2-3 s) and does nothing a finished command needs: every
    output is written atomically and closed, and the workers that wrote them have been joined."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away (a closed pipe) misses nothing more
            pass
    os._exit(code)


def _run(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format=f"{PROG}: %(levelname)s: %(message)s", force=True)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_one_line_records)
    # library warnings go through logging, shown (on one line) only with --verbose
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").setLevel(logging.INFO if args.verbose else logging.ERROR)
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
    except MemoryError:
        _error("not enough memory for this image or setting; try --max-size or a smaller --tile")
        return EXIT_BAD_INPUT
    except OSError as exc:  # a full disk, a folder that vanished: the files named in the error are untouched
        where = f"{exc.filename}: " if exc.filename else ""
        _error(f"{where}{exc.strerror or exc}")
        return EXIT_BAD_INPUT
    finally:
        logging.captureWarnings(False)


def _one_line_records(record: logging.LogRecord) -> bool:
    from .document.user_files import one_line

    record.msg, record.args = one_line(record.getMessage()), None
    return True


if __name__ == "__main__":
    sys.exit(main())
