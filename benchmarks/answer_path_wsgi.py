"""gunicorn entry for benchmarks/answer_path.py: vocloop, with a bare Flask app mounted at /bare in the
same processes, so both are measured under the same server, workers and machine load."""

from flask import Flask, request
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from vocloop import create_app

bare = Flask("bare")


@bare.route("/", methods=["GET", "POST"])
def bare_endpoint():
    """The least a Flask endpoint does: read the form if any, answer a small page."""
    return f"<!doctype html><title>ok</title><p>ok {len(request.form)}</p>"


vocloop_app = create_app()
application = DispatcherMiddleware(vocloop_app, {"/bare": bare})
