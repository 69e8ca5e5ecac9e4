"""``torchrun ... rank_folder.py FOLDER ARGS``: gantk ARGS, with rank 1 working in FOLDER, where
relative paths name other files (or none): a node whose copy of the data is missing or differs."""

import os
import sys

folder = sys.argv.pop(1)
if os.environ.get("RANK") == "1":
    os.chdir(folder)

from gantk.cli import main  # noqa: E402

main()
