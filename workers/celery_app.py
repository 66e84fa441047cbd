"""The worker's Celery app: the same settings and tasks as the web app."""

from competition import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
app = celery
