"""What one app instance holds: settings, the warehouse handle, the login throttle. Stored in
`app.extensions["pag"]`; nothing here holds patient data (that stays in the database and the scoped cache)."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from dashboard.config import Settings
from data_access.cache import QueryCache
from data_access.db import get_engine
from data_access.warehouse import Warehouse
from security.throttle import LoginThrottle

log = logging.getLogger("pag")


@dataclass
class AppState:
    settings: Settings
    warehouse: Warehouse
    throttle: LoginThrottle

    @property
    def engine(self):
        return self.warehouse.engine

    @property
    def demo_data(self) -> bool:
        try:
            return self.warehouse.version().source == "demo"
        except Exception:
            return False


def redis_client(url: str):
    """A Redis client with short timeouts (a dead Redis must not stall requests), or None without REDIS_URL."""
    if not url:
        return None
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5, health_check_interval=30)


def build_state(settings: Settings) -> AppState:
    redis = redis_client(settings.redis_url)
    settings_key = f"|precision={settings.client_date_precision}"
    cache = QueryCache(redis, namespace="pag")
    warehouse = Warehouse(get_engine(settings.database_url, settings.postgres_prepared_statements), cache,
                          settings_key)
    throttle = LoginThrottle(settings.login_max_failures, settings.login_window_seconds, redis)
    return AppState(settings, warehouse, throttle)
