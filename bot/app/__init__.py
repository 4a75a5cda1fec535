"""The dbreview GitHub App: webhook receiver, durable review queue, state store and `/dbreview` commands.

    bot.app.web       FastAPI app (POST /webhook, /healthz, /readyz, /metrics)
    bot.app.events    webhook payload -> decision (pure)
    bot.app.commands  `/dbreview ...` parsing and reply texts (pure)
    bot.app.store     SQLAlchemy state store (deliveries, reviews, comments, PR state, installations)
    bot.app.queue     huey instance (SQLite / Redis / PostgreSQL) and its tasks
    bot.app.jobs      what a worker does with a review or a command (claim, lease, supersede, retry)
    bot.app.cli       `serve()` and `worker()` entry points
"""
