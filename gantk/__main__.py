"""``python -m gantk`` behaves exactly like the ``gantk`` command (torchrun launches it so)."""

from gantk.cli import main

if __name__ == "__main__":
    main()
