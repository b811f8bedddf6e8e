# Excerpt written for Unthread's tests: the pattern of django-crum's request tracking.
import threading

_thread_locals = threading.local()


def get_current_request():
    """Return the request for the current thread."""
    return getattr(_thread_locals, "request", None)


def get_current_user():
    request = get_current_request()
    return getattr(request, "user", None)


def _set_current_request(request=None):
    _thread_locals.request = request


class CurrentRequestUserMiddleware:
    def process_request(self, request):
        _set_current_request(request)
