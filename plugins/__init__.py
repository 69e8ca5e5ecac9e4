"""gantk's built-in plugins, registered through the ``gantk`` entry-point group like any other."""
