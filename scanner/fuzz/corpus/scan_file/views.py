# Excerpt written for Unthread's tests: platform code calling thread-local-backed APIs of
# its dependencies.
from crum import get_current_request
from edx_django_utils.cache import RequestCache


def course_home(course_id):
    request = get_current_request()
    cache = RequestCache("course_home")
    return request, cache
