"""The project's URLs: each app brings its own (``playground/<app>/urls.py``)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from playground.accounts import views as accounts
from playground.ops import health

urlpatterns = [
    path("", include("playground.anatomy.urls")),
    path("rehearsals/", include("playground.rehearsals.urls")),
    path("fleets/", include("playground.fleets.urls")),
    path("lessons/", include("playground.lessons.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("admin/", admin.site.urls),
]

# Errors: the playground's pages (or JSON for JSON endpoints), never a trace (ops/errors.py).
handler400 = "playground.ops.errors.bad_request"
handler403 = "playground.ops.errors.permission_denied"
handler404 = "playground.ops.errors.page_not_found"
handler500 = "playground.ops.errors.server_error"
