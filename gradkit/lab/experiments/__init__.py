"""One module per experiment; each registers itself with :func:`gradkit.lab.registry.experiment`."""
