"""What an exported file carries besides its graph, shared by the exporter and the runtime."""

#: the version of gantk's metadata layout; a file from a newer gantk is refused
ONNX_FORMAT_VERSION = 1
#: the metadata_props key under which gantk stores its JSON
METADATA_KEY = "gantk"


def is_onnx_file(path) -> bool:
    """Whether a path names an exported file (``gantk sample``/``detect --model`` take both)."""
    return str(path).lower().endswith(".onnx")
