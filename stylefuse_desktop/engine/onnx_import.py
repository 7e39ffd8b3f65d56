"""Read the reference ONNX graphs as data: dequantize them and pull out convolution weights.

The int8 graphs hold QuantizeLinear/DequantizeLinear pairs around every activation and a
DequantizeLinear on every weight. Their initializer names were merged by the quantizer (a residual
conv's bias is called ``zero_point__144``), so weights are found by following each Conv node's inputs,
never by initializer name. Only the ``onnx`` package is needed here; nothing is executed.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

_QDQ = ("QuantizeLinear", "DequantizeLinear")


def _dequantize(q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray, axis: int) -> np.ndarray:
    q = q.astype(np.float64)
    if scale.ndim == 1 and q.ndim > 1:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale = scale.reshape(shape)
        zero_point = zero_point.reshape(shape)
    return ((q - zero_point.astype(np.float64)) * scale.astype(np.float64)).astype(np.float32)


def dequantize_model(model: onnx.ModelProto, dynamic_spatial: bool = True) -> onnx.ModelProto:
    """Return a float copy of a quantized graph: the same computation with weights dequantized and
    the activation fake-quantization removed.

    Every DequantizeLinear of a constant becomes a float initializer; every other Q or DQ node is
    dropped and its consumers read its input instead. With ``dynamic_spatial`` the image inputs and
    outputs get symbolic height and width so the graph runs at any size.
    """
    graph = model.graph
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    replace: dict[str, str] = {}  # tensor name -> the float tensor that stands for it
    new_inits: dict[str, np.ndarray] = {}

    def resolve(name: str) -> str:
        while name in replace:
            name = replace[name]
        return name

    for node in graph.node:
        if node.op_type == "DequantizeLinear" and node.input[0] in inits:
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            zero = inits[node.input[2]] if len(node.input) > 2 else np.zeros(1)
            value = _dequantize(inits[node.input[0]], inits[node.input[1]], zero, attrs.get("axis", 1))
            new_name = node.output[0] + "__float"
            new_inits[new_name] = value
            replace[node.output[0]] = new_name
        elif node.op_type in _QDQ:
            replace[node.output[0]] = node.input[0]

    kept = []
    for node in graph.node:
        if node.op_type in _QDQ:
            continue
        clone = onnx.NodeProto()
        clone.CopyFrom(node)
        for i, name in enumerate(clone.input):
            if name:
                clone.input[i] = resolve(name)
        kept.append(clone)

    outputs = []
    for out in graph.output:
        clone = onnx.ValueInfoProto()
        clone.CopyFrom(out)
        source = resolve(out.name)
        if source != out.name:
            # keep the public output name by ending the graph with an Identity
            kept.append(helper.make_node("Identity", [source], [out.name]))
        outputs.append(clone)

    used = {name for node in kept for name in node.input}
    float_inits = [numpy_helper.from_array(v, k) for k, v in new_inits.items() if k in used]
    float_inits += [t for t in graph.initializer if t.name in used and t.name not in new_inits]

    inputs = [onnx.ValueInfoProto() for _ in graph.input]
    for clone, original in zip(inputs, graph.input):
        clone.CopyFrom(original)
    if dynamic_spatial:
        for value in list(inputs) + outputs:
            dims = value.type.tensor_type.shape.dim
            if len(dims) == 4 and dims[3].dim_value == 3:  # NHWC image
                dims[1].dim_param, dims[2].dim_param = "height", "width"

    new_graph = helper.make_graph(kept, graph.name + "_float", inputs, outputs, float_inits)
    float_model = helper.make_model(new_graph, opset_imports=list(model.opset_import))
    float_model.ir_version = model.ir_version
    return float_model


def conv_parameters(float_model: onnx.ModelProto) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Map each Conv node's name to its (weight, bias), read from the node's own inputs."""
    inits = {t.name: numpy_helper.to_array(t) for t in float_model.graph.initializer}
    params: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    for node in float_model.graph.node:
        if node.op_type != "Conv":
            continue
        weight = inits[node.input[1]]
        bias = inits[node.input[2]] if len(node.input) > 2 and node.input[2] else None
        params[node.name] = (weight, bias)
    return params


def constant_inputs(float_model: onnx.ModelProto, op_type: str) -> dict[str, list[np.ndarray]]:
    """For every node of ``op_type``, the constant values among its inputs (e.g. the epsilon of an Add)."""
    inits = {t.name: numpy_helper.to_array(t) for t in float_model.graph.initializer}
    found: dict[str, list[np.ndarray]] = {}
    for node in float_model.graph.node:
        if node.op_type == op_type:
            found[node.name] = [inits[name] for name in node.input if name in inits]
    return found


def initializer_arrays(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t).copy() for t in model.graph.initializer}
