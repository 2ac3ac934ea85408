from django.contrib import admin
from django.urls import include, path

from lantai.api import api, public_api

urlpatterns = [
    path("api/public/", public_api.urls),  # before api/: the public API and its own docs
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("public/", include("lantai.access.urls")),  # 公众查档: the public site, no sign-in
    path("reading-room/", include("lantai.access.staff_urls")),  # 利用服务 (staff, signed in)
    path("marriage/", include("lantai.marriage.urls")),  # 婚姻档案 and 出证 (staff, signed in)
    path("verify/", include("lantai.certificates.public_urls")),  # 证明核验 (public, offline JS)
    path("platform/staff/", include("lantai.platform.staff_urls")),  # 全区平台 (staff, signed in)
    path("platform/", include("lantai.platform.urls")),  # 全区平台: signed messages, hub pages
    path("oai", include("lantai.interop.urls")),  # OAI-PMH 2.0 (public, open records only)
    path("interop/", include("lantai.interop.staff_urls")),  # EAD exports (staff, signed in)
    path("", include("lantai.web.urls")),
]
