"""The WSGI entry point: `gunicorn wsgi:server` in production, `flask --app wsgi ...` for the commands."""
from dashboard.app import create_app

server = app = create_app()
