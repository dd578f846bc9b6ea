"""The project's URLs: each app brings its own (``playground/<app>/urls.py``)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from playground.accounts import views as accounts
from playground.ops import health
from playground.ops.offload import in_worker_thread

urlpatterns = [
    path("", include("playground.anatomy.urls")),
    path("rehearsals/", include("playground.rehearsals.urls")),
    path("fleets/", include("playground.fleets.urls")),
    path("lessons/", include("playground.lessons.urls")),
    path("healthz", health.healthz, name="healthz"),
    # password hashing (~0.4 s of CPU) must not hold up every page: ops/offload.py
    path("accounts/login/", in_worker_thread(auth_views.LoginView.as_view()), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", in_worker_thread(accounts.signup), name="signup"),
    path("admin/", admin.site.urls),
]

# Errors: the playground's pages (or JSON for JSON endpoints), never a trace (ops/errors.py).
handler400 = "playground.ops.errors.bad_request"
handler403 = "playground.ops.errors.permission_denied"
handler404 = "playground.ops.errors.page_not_found"
handler500 = "playground.ops.errors.server_error"
