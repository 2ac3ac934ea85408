import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lantai.settings")
application = get_wsgi_application()
# Everything loaded so far (Django, the URL tree, the templates' libraries) lives as long as the
# process: keep it out of the garbage collector's scans, which otherwise put 100–200 ms pauses
# into large responses such as a thousand-page IIIF manifest (bench/iiif_manifest_bench.py).
gc.collect()
gc.freeze()
