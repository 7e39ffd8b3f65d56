"""Looks learnt from before/after pairs, applied as a step of their own.

A look is an edit of the photo, not a painting style, so it does not mix in the style space: alone it
is the edit (blended with the photo by strength); in a mix with painting styles it is applied to the
photo first, and the other styles then paint the edited photo.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import torch

from ..document.style_file import StyleFile
from ..errors import BadInputError
from .networks.look import LookGenerator, apply_look
from .styles import USER, StyleSource

_cache: OrderedDict[int, LookGenerator] = OrderedDict()
_lock = threading.Lock()


def is_look(source: StyleSource) -> bool:
    return source.kind == USER and source.style_file is not None and source.style_file.kind == "look"


def look_network(style: StyleFile, device: torch.device) -> LookGenerator:
    key = id(style)
    with _lock:
        if key in _cache:
            return _cache[key]
    width = int(style.info.get("architecture", {}).get("width", 32))
    with torch.inference_mode(False):
        net = LookGenerator(width)
        state = {k[len("look."):]: torch.from_numpy(np.array(v)) for k, v in style.tensors.items()
                 if k.startswith("look.")}
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError:  # the torch message lists tensor keys: not for the user
            raise BadInputError(f"style '{style.name}': the look's tensors do not fit its network; the file is "
                                "damaged") from None
        net.eval().requires_grad_(False).to(device)
    with _lock:
        _cache[key] = net
        while len(_cache) > 8:
            _cache.popitem(last=False)
    return net


def apply_looks(rgb: np.ndarray, looks: list[StyleSource], device: torch.device) -> np.ndarray:
    x = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None].to(device)
    for source in looks:
        if source.style_file is None:
            raise ValueError(f"the look {source.label!r} has no style file")
        x = apply_look(look_network(source.style_file, device), x)
    return x[0].permute(1, 2, 0).cpu().numpy()
