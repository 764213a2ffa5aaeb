"""KFP components: thin wrappers that map artifacts to paths and call one stage function each.

Heavy imports live inside the component bodies (the cluster image has tunepipe installed; locally
the kfp SubprocessRunner runs them with this interpreter). Unit tests call `component.python_func`.
"""
