"""The App's state store: SQLAlchemy 2 models, Alembic migrations, and the operations the web and workers use."""

from bot.app.store.models import Base
from bot.app.store.store import ClaimResult, Store

__all__ = ["Base", "ClaimResult", "Store"]
