"""The REST API root (django-ninja); each area adds its router here. OpenAPI at /api/docs."""

from ninja import NinjaAPI

api = NinjaAPI(title="兰台 Lantai API", version="1", urls_namespace="api")
