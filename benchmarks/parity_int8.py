"""How far our float networks are from the original int8 graphs (the quantization gap), on real photos.

Parity with the float-dequantized graphs is a test (<= 1e-4); this prints the gap to the int8 graphs
as the reference package runs them, for the record.

    python benchmarks/parity_int8.py
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch
from _measure import table
from resources_sample import sample_photo_array  # noqa: F401  (puts the project on sys.path)
from skimage import data, transform

from stylefuse_desktop.engine.weights import load_network, verified_onnx_path


def main() -> None:
    pictures = {"astronaut": data.astronaut(), "chelsea": data.chelsea(), "coffee": data.coffee(),
                "rocket": data.rocket()}
    squares = {k: transform.resize(v, (256, 256), anti_aliasing=True).astype(np.float32) for k, v in pictures.items()}
    contents = {k: transform.resize(v, (384, 384), anti_aliasing=True).astype(np.float32) for k, v in pictures.items()}
    predict = ort.InferenceSession(str(verified_onnx_path("arbitrary_predict.onnx")))
    transform_ = ort.InferenceSession(str(verified_onnx_path("arbitrary_transform.onnx")))
    predictor, transformer = load_network("style_predictor"), load_network("style_transformer")
    rows = []
    for style_name, style in squares.items():
        with torch.inference_mode():
            ours_e = predictor(torch.from_numpy(style).permute(2, 0, 1)[None]).numpy()
        int8_e = predict.run(None, {"style_image": style[None]})[0].reshape(1, 100)
        for content_name, content in contents.items():
            if content_name == style_name:
                continue
            with torch.inference_mode():
                ours = transformer(torch.from_numpy(content).permute(2, 0, 1)[None], torch.from_numpy(ours_e))
            ours = ours[0].permute(1, 2, 0).numpy()
            int8 = transform_.run(None, {"content_image": content[None],
                                         "mobilenet_conv/Conv/BiasAdd": int8_e.reshape(1, 1, 1, 100)})[0][0]
            rows.append([style_name, content_name, f"{np.abs(ours_e - int8_e).mean():.4f}",
                         f"{np.abs(ours - int8).mean():.4f}"])
    print(table(["style", "content", "embedding mean |diff|", "image mean |diff| (0..1)"], rows))
    print(f"\nmean image |diff| over all pairs: {np.mean([float(r[3]) for r in rows]):.4f}")


if __name__ == "__main__":
    main()
