# Excerpt written for Unthread's tests: a mixin whose class attribute holds a thread local.
import threading


class ThreadCacheMixin:
    thread_cache = threading.local()

    def cached(self, key):
        return getattr(self.thread_cache, key, None)
