"""Building the ONNX files an :class:`~embedlab.encoders.onnx.OnnxEncoder` runs, once per model.

The export (fp32, fused by onnxruntime's transformer optimizer) and the int8 recipe that
:mod:`embedlab.encoders.onnx` describes; the encoder calls :func:`ensure_files`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from embedlab._log import get_logger
from embedlab.encoders._loading import ModelFolder, Pooling, import_torch, load_model
from embedlab.errors import InvalidParameterError, MissingDependencyError

_log = get_logger(__name__)

__all__ = ["PIP_LINE", "RECIPE", "ensure_files", "import_tools"]

PIP_LINE = "pip install 'embedlab[onnx]'"
RECIPE = 4
"""Version of the export recipe; bumping it moves the cache to fresh folders."""
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def ensure_files(
    folder: ModelFolder, mode: Pooling | None, target: Path, token_types: bool, quantize: bool
) -> tuple[Path, bool]:
    """The cached ONNX file to run, and whether it was built now (export, quantization)."""
    fp32, int8 = target / "model.fp32.onnx", target / "model.int8.onnx"
    wanted = int8 if quantize else fp32
    if wanted.is_file():
        return wanted, False
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidParameterError(
            f"cannot create the ONNX cache folder {str(target)!r} ({exc}); pass cache_dir= "
            f"or set EMBEDLAB_CACHE to a writable folder"
        ) from exc
    import_tools()  # fail early, before torch loads the model, if onnx is missing
    if not fp32.is_file():
        _export(folder, mode, fp32, token_types)
    if quantize:
        _quantize(fp32, int8)
    return wanted, True


def _temporary(path: Path) -> Path:
    """A sibling name to write before an atomic rename (safe with concurrent exports)."""
    return path.with_name(f"{path.stem}.{os.getpid()}.tmp.onnx")


def _export(folder: ModelFolder, mode: Pooling | None, path: Path, token_types: bool) -> None:
    """Export the transformer to ONNX (fp32) and fuse it with onnxruntime's optimizer."""
    _log.info("exporting %s to ONNX once (cached in %s)", folder.name, path.parent)
    torch, _ = import_torch()
    _, onnx_optimizer = import_tools()
    model = load_model(folder, pooling=mode, device="cpu")
    body = model[0].auto_model.eval()
    with contextlib.suppress(AttributeError, ValueError):  # eager attention fuses in ORT
        body.set_attn_implementation("eager")
    names = list(_INPUTS if token_types else _INPUTS[:2])

    class LastHidden(torch.nn.Module):  # type: ignore[name-defined,misc]
        def __init__(self) -> None:
            super().__init__()
            self.body = body

        def forward(self, *inputs: Any) -> Any:
            return self.body(**dict(zip(names, inputs, strict=True))).last_hidden_state

    ids = torch.tensor([[101, 2023, 2003, 102], [101, 2023, 102, 0]], dtype=torch.long)
    ids = ids.clamp(max=int(body.config.vocab_size) - 1)
    example = (ids, (ids > 0).long(), torch.zeros_like(ids))[: len(names)]
    raw = _temporary(path.with_name("raw.onnx"))
    tmp = _temporary(path)
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer and deprecation chatter
            torch.onnx.export(
                LastHidden().eval(),
                example,
                str(raw),
                dynamo=False,
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes={
                    n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]
                },
                opset_version=17,
            )
        config = body.config
        try:
            with _quiet_root_logger():
                fused = onnx_optimizer(
                    str(raw),
                    model_type="bert",
                    num_heads=int(getattr(config, "num_attention_heads", 0) or 0),
                    hidden_size=int(getattr(config, "hidden_size", 0) or 0),
                )
                fused.save_model_to_file(str(tmp))
        except Exception:  # an architecture the optimizer does not know: run it unfused
            os.replace(raw, tmp)
        os.replace(tmp, path)
    finally:
        for leftover in (raw, tmp):
            leftover.unlink(missing_ok=True)


def _quantize(fp32: Path, int8: Path) -> None:
    """Dynamic int8 quantization of every weight matrix (see the module docstring)."""
    quantization, _ = import_tools()
    import onnx

    model = onnx.load(str(fp32))
    _scale_rows(model)
    _unfuse(model)
    middle, tmp = _temporary(int8.with_name("rows.onnx")), _temporary(int8)
    try:
        onnx.save(model, str(middle))
        with _quiet_root_logger():  # "consider pre-processing": not needed after fusion
            quantization.quantize_dynamic(
                str(middle),
                str(tmp),
                weight_type=quantization.QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul", "Attention"],  # embeddings stay fp32
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},  # for fused ops
            )
        quantized = onnx.load(str(tmp))
        if _flash_attention(quantized):
            onnx.save(quantized, str(tmp))
        os.replace(tmp, int8)
    finally:
        for leftover in (middle, tmp):
            leftover.unlink(missing_ok=True)


def _scale_rows(model: Any) -> None:
    """Divide each feed-forward MatMul's input by its per-row max |x|; multiply back after.

    The feed-forward matrices are the non-square 2-D weights. In fp32 the result is the
    same; quantized per tensor afterwards, every row (token) gets its own int8 range.
    """
    from onnx import helper, numpy_helper

    graph = model.graph
    shapes = {tensor.name: tuple(tensor.dims) for tensor in graph.initializer}
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 17)
    graph.initializer.append(numpy_helper.from_array(np.array(1e-12, np.float32), "rows_eps"))
    if opset >= 18:  # ReduceMax/ReduceMin take their axes as an input from opset 18
        graph.initializer.append(numpy_helper.from_array(np.array([-1], np.int64), "rows_axes"))
    nodes: list[Any] = []
    for node in graph.node:
        shape = shapes.get(node.input[1], ()) if node.op_type == "MatMul" else ()
        if len(shape) != 2 or shape[0] == shape[1]:
            nodes.append(node)
            continue
        x, p = node.input[0], node.name or node.output[0]
        axes: dict[str, Any] = {} if opset >= 18 else {"axes": [-1]}
        extra = ["rows_axes"] if opset >= 18 else []
        nodes += [
            helper.make_node("ReduceMax", [x, *extra], [p + "_hi"], keepdims=1, **axes),
            helper.make_node("ReduceMin", [x, *extra], [p + "_lo"], keepdims=1, **axes),
            helper.make_node("Neg", [p + "_lo"], [p + "_nlo"]),
            helper.make_node("Max", [p + "_hi", p + "_nlo", "rows_eps"], [p + "_rowmax"]),
            helper.make_node("Div", [x, p + "_rowmax"], [p + "_rows"]),
        ]
        out = node.output[0]
        node.input[0], node.output[0] = p + "_rows", p + "_scaled"
        nodes += [node, helper.make_node("Mul", [p + "_scaled", p + "_rowmax"], [out])]
    del graph.node[:]
    graph.node.extend(nodes)


def _flash_attention(model: Any) -> bool:
    """Let batches without padding take onnxruntime's flash attention (whether any changed).

    Each ``QAttention`` (with the ``DynamicQuantizeLinear`` of its input) moves into the
    ``else`` branch of an ``If`` on "the attention mask has no zero"; the ``then`` branch
    runs the same int8 projection as ``DynamicQuantizeMatMul`` (the same weights, scales
    and per-tensor input quantization), splits it into Q, K, V and calls
    ``MultiHeadAttention`` without a mask, which onnxruntime's CPU kernel computes with
    MLAS flash attention: ~1.3x faster on 256-token windows than the masked kernel.
    Batches with padding run ``QAttention`` exactly as before.
    """
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    names = {i.name for i in graph.input}
    if opset < 13 or "attention_mask" not in names:  # Split takes its sizes as input from 13
        return False
    made = {o for node in graph.node for o in node.output}
    users: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            users[name] = users.get(name, 0) + 1
    shapes = {t.name: tuple(t.dims) for t in graph.initializer}
    producer = {o: node for node in graph.node for o in node.output}
    moved: dict[int, Any] = {}  # id(QAttention) -> If; id(DynamicQuantizeLinear) -> None
    cond = "attention_mask_full"
    while cond in made or f"{cond}_min" in made:
        cond += "_"
    for node in graph.node:
        if node.op_type != "QAttention" or node.domain != "com.microsoft":
            continue
        inputs = list(node.input) + [""] * 9
        x_q, weight, bias, x_scale, w_scale, mask, x_zero, w_zero, *more = inputs
        quant = producer.get(x_q)
        shape = shapes.get(weight, ())
        if (
            quant is None
            or quant.op_type != "DynamicQuantizeLinear"
            or list(quant.output) != [x_q, x_scale, x_zero]
            or any(users.get(o, 0) != 1 for o in quant.output)
            or len(shape) != 2
            or shape[1] % 3
            or not mask
            or any(more)
            or any(a.name not in ("num_heads", "scale") for a in node.attribute)
        ):
            continue
        p, width = node.name or node.output[0], shape[1] // 3
        heads = next(a.i for a in node.attribute if a.name == "num_heads")
        scale = [a.f for a in node.attribute if a.name == "scale"]
        sizes = f"{p}_qkv_sizes"
        graph.initializer.append(numpy_helper.from_array(np.array([width] * 3, np.int64), sizes))
        qkv = [f"{p}_q", f"{p}_k", f"{p}_v"]
        extra = {"scale": scale[0]} if scale and scale[0] else {}
        flash = [
            helper.make_node(
                "DynamicQuantizeMatMul",
                [quant.input[0], weight, w_scale, w_zero, bias],
                [f"{p}_qkv"],
                domain="com.microsoft",
            ),
            helper.make_node("Split", [f"{p}_qkv", sizes], qkv, axis=-1),
            helper.make_node(
                "MultiHeadAttention",
                qkv,
                [f"{p}_flash"],
                domain="com.microsoft",
                num_heads=heads,
                **extra,
            ),
        ]
        masked = helper.make_node(
            "QAttention", list(node.input), [f"{p}_masked"], domain="com.microsoft"
        )
        masked.attribute.extend(node.attribute)
        branches = {}
        for kind, body in (("flash", flash), ("masked", [quant, masked])):
            result = helper.make_tensor_value_info(f"{p}_{kind}", TensorProto.FLOAT, None)
            branches[kind] = helper.make_graph(body, f"{p}_{kind}", [], [result])
        moved[id(quant)] = None
        moved[id(node)] = helper.make_node(
            "If",
            [cond],
            list(node.output),
            name=f"{p}_if_full",
            then_branch=branches["flash"],
            else_branch=branches["masked"],
        )
    if not moved:
        return False
    nodes: list[Any] = [
        helper.make_node("ReduceMin", ["attention_mask"], [f"{cond}_min"], keepdims=0),
        helper.make_node("Cast", [f"{cond}_min"], [cond], to=TensorProto.BOOL),
    ]
    for node in graph.node:
        nodes.append(moved.get(id(node), node))
    del graph.node[:]
    graph.node.extend(node for node in nodes if node is not None)
    return True


def _unfuse(model: Any) -> None:
    """SkipLayerNormalization -> Add(s) + LayerNormalization; BiasGelu -> Add + Gelu."""
    from onnx import helper

    nodes: list[Any] = []
    for node in model.graph.node:
        p = node.name or node.output[0]
        outputs = [o for o in node.output if o]
        if node.op_type == "SkipLayerNormalization" and len(outputs) == 1:
            x, skip, gamma, beta, *rest = node.input
            eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-12)
            if rest and rest[0]:
                nodes.append(helper.make_node("Add", [x, rest[0]], [p + "_biased"]))
                x = p + "_biased"
            nodes += [
                helper.make_node("Add", [x, skip], [p + "_sum"]),
                helper.make_node(
                    "LayerNormalization", [p + "_sum", gamma, beta], outputs, axis=-1, epsilon=eps
                ),
            ]
        elif node.op_type == "BiasGelu":
            nodes += [
                helper.make_node("Add", list(node.input), [p + "_biased"]),
                helper.make_node("Gelu", [p + "_biased"], outputs, domain="com.microsoft"),
            ]
        else:
            nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """Silence the root logger, and keep onnxruntime's tools from configuring it."""
    root = logging.getLogger()
    level, quiet = root.level, logging.NullHandler()
    root.addHandler(quiet)  # basicConfig() does nothing while the root has a handler
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.removeHandler(quiet)
        root.setLevel(level)


def import_tools() -> tuple[Any, Any]:
    """onnxruntime.quantization and its transformer optimizer."""
    try:
        import onnx  # noqa: F401
        import onnxruntime.quantization as quantization  # type: ignore[import-untyped]

        with _quiet_root_logger():  # it calls logging.basicConfig(INFO) on import
            from onnxruntime.transformers.optimizer import (  # type: ignore[import-untyped]
                optimize_model,
            )
    except ImportError as exc:
        raise MissingDependencyError(
            f"exporting to ONNX needs onnx and onnxruntime ({exc.name or 'onnx'} is "
            f"missing); install them with: {PIP_LINE}"
        ) from exc
    return quantization, optimize_model
