"""Style embeddings: the 100-d vectors the arbitrary-style transformer is conditioned on."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..document.image_io import read_image, to_uint8
from ..errors import BadInputError
from .networks.style_predictor import INPUT_SIZE
from .styles import StyleSource
from .weights import load_network


def style_image_tensor(rgb: np.ndarray) -> torch.Tensor:
    """The reference preprocessing: centre square crop, 256 px, Lanczos. -> [1, 3, 256, 256]."""
    h, w = rgb.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    im = Image.fromarray(to_uint8(rgb[top : top + side, left : left + side]))
    im = im.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.LANCZOS)
    return torch.from_numpy(np.asarray(im, np.float32) / 255.0).permute(2, 0, 1)[None].contiguous()


@torch.inference_mode()
def predict_embedding(rgb: np.ndarray, device: torch.device) -> torch.Tensor:
    """[100] embedding of one picture."""
    predictor = load_network("style_predictor", device)
    embedding: torch.Tensor = predictor(style_image_tensor(rgb).to(device))[0]
    return embedding


class _EmbeddingCache:
    """Embeddings of style image files, keyed by (path, size, mtime): an edited file is read again."""

    def __init__(self, capacity: int = 256) -> None:
        self._items: OrderedDict[tuple[str, int, int], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.capacity = capacity

    def get(self, path: Path, device: torch.device) -> np.ndarray:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = predict_embedding(read_image(path).rgb, device).float().cpu().numpy()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return value


image_embeddings = _EmbeddingCache()


def source_embedding(source: StyleSource, device: torch.device) -> torch.Tensor:
    """[100] embedding of an image or user style (images' embeddings are averaged)."""
    if source.style_file is not None:  # stored data paints, whatever the kind (a picture's style too)
        embedding = source.style_file.embedding
        if embedding is None:
            raise BadInputError(f"style '{source.label}' is a {source.style_file.kind} style and has no embedding")
        return torch.from_numpy(embedding.astype(np.float32)).to(device)
    if source.image_paths:
        vectors = [image_embeddings.get(p, device) for p in source.image_paths]
        return torch.from_numpy(np.mean(vectors, axis=0)).to(device)
    raise ValueError(f"style '{source.label}' ({source.kind}) has no embedding")
