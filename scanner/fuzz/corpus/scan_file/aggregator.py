# Excerpt written for Unthread's tests: an aggregator guarding its buffer with an RLock.
import threading

_PROCESSORS = {}


def register(name, processor):
    _PROCESSORS[name] = processor


class EventAggregator:
    def __init__(self):
        self._lock = threading.RLock()
        self._events = []

    def add(self, event):
        with self._lock:
            self._events.append(event)

    async def flush(self, backend):
        with self._lock:
            events, self._events = self._events, []
        await backend.send(events)
