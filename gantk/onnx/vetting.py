"""An ONNX file from someone else, checked before onnxruntime parses it.

onnxruntime follows a tensor's external-data path wherever it points (``../../etc/passwd``, an
absolute path, a link out of the folder), runs operators from any registered custom domain, and
allocates what a tensor declares. A gantk export never needs any of that: every tensor lives in the
file, every operator is a standard ONNX one. So anything else is refused here, from the protobuf
alone, and onnxruntime then receives the checked bytes, never the path, so it has no folder to
resolve a file name against and nothing can change between the check and the load.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from gantk.errors import ModelFileError

#: operator domains a gantk export uses: the standard ONNX operator set, under either name
STANDARD_DOMAINS = frozenset({"", "ai.onnx"})


def check_untrusted_onnx(data: bytes, source: str) -> None:
    """Refuse, with one line naming ``source``, ONNX bytes that store tensors outside the file,
    call non-standard operators or declare tensors larger than the data they hold."""
    import onnx

    try:
        model = onnx.load_model_from_string(data)
    except Exception as error:  # protobuf's DecodeError, or onnx's own on a malformed file
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        raise ModelFileError(f"{source}: not a readable ONNX model ({first})") from None
    for where, tensor in _tensors(model):
        _check_tensor(tensor, where, source)
    for where, domain in _node_domains(model):
        if domain not in STANDARD_DOMAINS:
            raise ModelFileError(f"{source}: {where} uses operator domain {domain!r}; gantk runs "
                                 "only standard ONNX operators (custom operators run code)")


def _check_tensor(tensor, where: str, source: str) -> None:
    import onnx
    from onnx import helper

    name = f"tensor {tensor.name!r}" if tensor.name else "a tensor"
    if tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data):
        location = next((entry.value for entry in tensor.external_data
                         if entry.key == "location"), "?")
        raise ModelFileError(f"{source}: {name} ({where}) points at data in another file "
                             f"({location!r}); gantk reads models whose tensors are inside them")
    if any(dim < 0 for dim in tensor.dims):
        raise ModelFileError(f"{source}: {name} ({where}) has a negative dimension "
                             f"{list(tensor.dims)}")
    if tensor.data_type in (onnx.TensorProto.STRING, onnx.TensorProto.UNDEFINED):
        return  # strings carry their own lengths; gantk writes none
    try:
        itemsize = helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
    except (KeyError, TypeError, ValueError):
        raise ModelFileError(f"{source}: {name} ({where}) has unknown element type "
                             f"{tensor.data_type}") from None
    declared = math.prod(tensor.dims)
    held = _values_held(tensor, itemsize)
    if declared > held:
        raise ModelFileError(f"{source}: {name} ({where}) declares {list(tensor.dims)}, "
                             f"{declared * itemsize:,} bytes, but holds {held * itemsize:,}")


def _values_held(tensor, itemsize: int) -> int:
    """How many values the tensor really carries, in raw_data or in its typed field (one value
    per entry; a complex value takes two, so this errs towards allowing)."""
    if tensor.raw_data:
        return len(tensor.raw_data) // itemsize
    return max(len(tensor.float_data), len(tensor.double_data), len(tensor.int32_data),
               len(tensor.int64_data), len(tensor.uint64_data))


def _tensors(model) -> Iterator[tuple[str, object]]:
    """Every tensor the model holds: initializers, sparse ones, constants and attribute tensors,
    in the main graph, its subgraphs and local functions."""
    for graph_name, graph in _graphs(model):
        for tensor in graph.initializer:
            yield f"initializer of {graph_name}", tensor
        for sparse in graph.sparse_initializer:
            yield f"sparse initializer of {graph_name}", sparse.values
            yield f"sparse initializer of {graph_name}", sparse.indices
    for where, node in _nodes(model):
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield where, attribute.t
            for tensor in attribute.tensors:
                yield where, tensor
            if attribute.HasField("sparse_tensor"):
                yield where, attribute.sparse_tensor.values
                yield where, attribute.sparse_tensor.indices


def _node_domains(model) -> Iterator[tuple[str, str]]:
    for where, node in _nodes(model):
        yield where, node.domain


def _nodes(model) -> Iterator[tuple[str, object]]:
    """Every node, with where it sits: in the graphs and in the local functions' bodies."""
    for graph_name, graph in _graphs(model):
        for node in graph.node:
            yield f"node {node.name or node.op_type!r} of {graph_name}", node
    for function in model.functions:
        for node in function.node:
            yield f"node {node.name or node.op_type!r} of function {function.name!r}", node


def _graphs(model) -> Iterator[tuple[str, object]]:
    """The main graph and every subgraph nested in node attributes (If, Loop, Scan bodies),
    including those inside local functions."""
    pending = [("the graph", model.graph)]
    for function in model.functions:
        pending += [(f"a subgraph of function {function.name!r}", attribute.g)
                    for node in function.node for attribute in node.attribute
                    if attribute.HasField("g")]
    while pending:
        name, graph = pending.pop()
        yield name, graph
        for node in graph.node:
            for attribute in node.attribute:
                if attribute.HasField("g"):
                    pending.append((f"a subgraph of node {node.name or node.op_type!r}",
                                    attribute.g))
                pending += [(f"a subgraph of node {node.name or node.op_type!r}", sub)
                            for sub in attribute.graphs]
