import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridgov.settings")
application = get_wsgi_application()

# Garbage collection in a serving process: a dashboard request makes some 100,000 short-lived
# objects; with the default young threshold (700) enough of them outlived a young collection to
# set off a full one every ~50 requests, 50–190 ms each over everything Django keeps (the slow
# tail of the analytics benchmark). The objects of start-up are frozen out of collections and
# the young threshold raised, so that a request's garbage dies young (docs/performance.md).
gc.freeze()
gc.set_threshold(10_000, 10, 10)
