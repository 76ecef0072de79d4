import gc


def create_app(config=None):
    """The application factory (Flask tutorial style); see idp.app.build_app.

    Without ``config`` it is the WSGI server's entry point (``granian --factory
    idp:create_app``), called once per worker process with the configuration in the
    environment. The objects made while starting (modules, mappers, templates: most of the
    heap) are then frozen out of the garbage collector (``gc.freeze``): a full collection no
    longer walks them, which paused a worker for about 150 ms each time ."""
    from idp.app import build_app

    app = build_app(config)
    if config is None:
        gc.collect()  # what start-up left behind goes first
        gc.freeze()
    return app
