from django.contrib import admin
from django.urls import include, path

from lantai.api import api, public_api

urlpatterns = [
    path("", include("lantai.ops.urls")),  # /healthz, /readyz, /metrics (load balancer, Prometheus)
    path("api/public/", public_api.urls),  # before api/: the public API and its own docs
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("iiif/3/", include("lantai.access.iiif_urls")),  # IIIF Image API 3.0 (public, watermarked)
    path("reading-room/iiif/3/", include("lantai.access.iiif_staff_urls")),  # … for staff
    path("iiif/collection/", include("lantai.exhibits.iiif_urls")),  # databases, exhibitions
    path("iiif/", include("lantai.interop.iiif_urls")),  # manifests, fonds, Content Search
    path("exhibits/databases/", include("lantai.exhibits.urls_databases")),  # 专题数据库 (staff)
    path("exhibits/exhibitions/", include("lantai.exhibits.urls_exhibitions")),  # 网上展厅 (staff)
    path("public/databases/", include("lantai.exhibits.public_database_urls")),
    path("public/exhibitions/", include("lantai.exhibits.public_exhibition_urls")),
    path("public/", include("lantai.access.urls")),  # 公众查档: the public site, no sign-in
    path("reading-room/", include("lantai.access.staff_urls")),  # 利用服务 (staff, signed in)
    path("marriage/", include("lantai.marriage.urls")),  # 婚姻档案 and 出证 (staff, signed in)
    path("verify/", include("lantai.certificates.public_urls")),  # 证明核验 (public, offline JS)
    path("platform/staff/", include("lantai.platform.staff_urls")),  # 全区平台 (staff, signed in)
    path("platform/", include("lantai.platform.urls")),  # 全区平台: signed messages, hub pages
    path("oai", include("lantai.interop.urls")),  # OAI-PMH 2.0 (public, open records only)
    path("interop/", include("lantai.interop.staff_urls")),  # EAD exports (staff, signed in)
    path("holdings/", include("lantai.holdings.urls")),  # 征集: donors, accessions (staff)
    path("stacks/", include("lantai.stacks.urls")),  # 库房管理 (staff)
    path("appraisal/", include("lantai.appraisal.urls")),  # 鉴定与销毁 (staff)
    path("stats/", include("lantai.stats.urls")),  # 统计 (staff)
    path("transfers/quality/", include("lantai.ingest.quality_urls")),  # 进馆质量, 移交预警
    path("", include("lantai.web.urls")),
]
