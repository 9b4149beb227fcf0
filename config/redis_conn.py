"""Every Redis client Parley opens, built from the settings in one place: a plain server
(REDIS_URL) or a master found through Redis Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_MASTER).

With Sentinel, REDIS_URL's host and port are not used: its db number and password are, on
whichever server the sentinels name master. Each user of Redis gets the form it takes:

- the channel layer: channels-redis's own sentinel host entry (``master_name``,
  ``sentinels``), which builds redis-py's SentinelConnectionPool;
- Django's cache: its RedisCache with :class:`SentinelCachePool` as ``pool_class``;
- Celery: kombu's ``sentinel://`` broker URL and ``master_name`` transport option;
- code that calls Redis itself (quotas, socket caps, the push probe, health):
  :func:`sync_client` and :func:`async_client`.

After a failover, redis-py's sentinel-managed connections ask the sentinels again when a
connection fails, so clients follow the promoted replica without a restart.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import redis
from django.conf import settings
from redis import asyncio as aioredis
from redis.asyncio import sentinel as async_sentinel
from redis.sentinel import Sentinel, SentinelConnectionPool


def parse_sentinels(text: str) -> list[tuple[str, int]]:
    """``"host:port,host:port"`` as redis-py wants it; port 26379 when left out."""
    found = []
    for item in text.replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        host, _, port = item.rpartition(":") if ":" in item else (item, "", "26379")
        found.append((host.strip("[]") or "127.0.0.1", int(port)))
    return found


def url_db_and_password(url: str) -> dict:
    """The db number and password REDIS_URL gives (the master's, under Sentinel)."""
    parts = urlsplit(url)
    found: dict = {"db": int(parts.path.strip("/") or 0) if parts.scheme != "unix" else 0}
    if parts.password:
        found["password"] = unquote(parts.password)
    if parts.username:
        found["username"] = unquote(parts.username)
    return found


def _sentinel_setup() -> tuple[list[tuple[str, int]], str, dict] | None:
    sentinels = getattr(settings, "REDIS_SENTINELS", [])
    if not sentinels:
        return None
    return sentinels, settings.REDIS_SENTINEL_MASTER, url_db_and_password(settings.REDIS_URL)


def _sentinel_kwargs(timeout: float | None) -> dict:
    # The sentinels themselves: short timeouts, so that a dead sentinel costs little
    # before the next one is asked.
    kwargs = {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}
    password = getattr(settings, "REDIS_SENTINEL_PASSWORD", "")
    if password:
        kwargs["password"] = password
    if timeout is not None:
        kwargs["socket_timeout"] = kwargs["socket_connect_timeout"] = min(1.0, timeout)
    return kwargs


def sync_client(**kwargs) -> redis.Redis:
    """A blocking client on Redis (the master, under Sentinel); ``kwargs`` go to redis-py."""
    setup = _sentinel_setup()
    if setup is None:
        return redis.Redis.from_url(settings.REDIS_URL, **kwargs)
    sentinels, master, target = setup
    manager = Sentinel(sentinels, sentinel_kwargs=_sentinel_kwargs(kwargs.get("socket_timeout")))
    return manager.master_for(master, redis_class=redis.Redis, **target, **kwargs)


def async_client(**kwargs) -> aioredis.Redis:
    """An asyncio client on Redis (the master, under Sentinel); bound to the running loop."""
    setup = _sentinel_setup()
    if setup is None:
        return aioredis.Redis.from_url(settings.REDIS_URL, **kwargs)
    sentinels, master, target = setup
    manager = async_sentinel.Sentinel(
        sentinels, sentinel_kwargs=_sentinel_kwargs(kwargs.get("socket_timeout"))
    )
    return manager.master_for(master, redis_class=aioredis.Redis, **target, **kwargs)


def identity() -> str:
    """What the clients above point at, for caches of clients that must notice a change
    (tests move Parley to a Redis of their own)."""
    setup = _sentinel_setup()
    if setup is None:
        return settings.REDIS_URL
    return f"sentinel:{setup[1]}@{setup[0]}/{setup[2]['db']}"


def layer_host(redis_url: str, sentinels: list, master: str, kwargs: dict) -> dict:
    """One ``hosts`` entry of channels-redis (RedisChannelLayer and RedisPubSubChannelLayer
    both build their pools with channels_redis.utils.create_pool, which takes either)."""
    if not sentinels:
        return {"address": redis_url, **kwargs}
    return {
        "master_name": master,
        "sentinels": sentinels,
        "sentinel_kwargs": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0},
        **url_db_and_password(redis_url),
        **kwargs,
    }


def celery_broker(redis_url: str, sentinels: list) -> str:
    """kombu's spelling of the broker: ``sentinel://h1:p1;sentinel://h2:p2/db`` under
    Sentinel (the master's name goes in the transport options), else the Redis URL."""
    if sentinels:
        db = url_db_and_password(redis_url)["db"]
        return ";".join(f"sentinel://{h}:{p}/{db}" for h, p in sentinels)
    # kombu spells a redis unix socket "redis+socket://"; redis-py spells it "unix://".
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url[len("unix://") :]
    return redis_url


class SentinelCachePool(SentinelConnectionPool):
    """Django's RedisCache builds its pool with ``pool_class.from_url(LOCATION, ...)``;
    this one takes the db and password from LOCATION and the master from the sentinels."""

    @classmethod
    def from_url(cls, url: str, **kwargs) -> SentinelCachePool:
        setup = _sentinel_setup()
        if setup is None:
            raise ValueError("SentinelCachePool needs REDIS_SENTINELS")
        sentinels, master, _ = setup
        manager = Sentinel(sentinels, sentinel_kwargs=_sentinel_kwargs(None))
        return cls(master, manager, **url_db_and_password(url), **kwargs)
