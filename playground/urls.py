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
    path("healthz", health.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("admin/", admin.site.urls),
]
