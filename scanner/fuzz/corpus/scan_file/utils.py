# Excerpt written for Unthread's tests: a thread-local request cache class with a
# namespaced wrapper, the pattern of edx-django-utils' RequestCache.
import threading


class _RequestCache(threading.local):
    """A thread-local holding the per-request cache."""

    def __init__(self):
        super().__init__()
        self.data = {}


REQUEST_CACHE = _RequestCache()


class RequestCache:
    def __init__(self, namespace=None):
        self.namespace = namespace or "default"

    @property
    def data(self):
        return REQUEST_CACHE.data.setdefault(self.namespace, {})


class TieredCache:
    @staticmethod
    def get_cached_response(key):
        return RequestCache().data.get(key)
