"""Accounts: Django's own users, login and logout (``/accounts/login/``, ``/accounts/logout/``,
a POST), and a small sign-up page. Signing in or up keeps what this browser made anonymously
(``access.adopt_on_login``)."""

from __future__ import annotations

from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from . import limits


@require_http_methods(["GET", "HEAD", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("anatomy")
    form = UserCreationForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                limits.check(request, limits.SIGNUPS)
            except limits.RateLimited as error:
                return limits.too_many(
                    request,
                    error,
                    "registration/signup.html",
                    {"form": form, "refused": error.message},
                )
            try:
                with transaction.atomic():
                    user = form.save()
            except IntegrityError:  # the same name signed up just now (a double click)
                field = form._meta.model._meta.get_field("username")
                form.add_error("username", field.error_messages["unique"])
                return render(request, "registration/signup.html", {"form": form}, status=422)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("anatomy")
        return render(request, "registration/signup.html", {"form": form}, status=422)
    return render(request, "registration/signup.html", {"form": form})


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' lockout answer (``AXES_LOCKOUT_CALLABLE``): the sign-in page, 429, what
    happened and when to try again (also in ``Retry-After``)."""
    from datetime import timedelta

    from axes.helpers import get_client_username, get_cool_off
    from axes.models import AccessAttempt
    from django.conf import settings
    from django.contrib.auth.forms import AuthenticationForm
    from django.db.models import Max, Q
    from django.utils import timezone

    username = (request.POST.get("username") or "")[:150]
    if isinstance(credentials, dict):
        username = get_client_username(request, credentials) or username
    address = limits.axes_client_ip(request)
    cool_off = get_cool_off(request) or timedelta(0)
    match = Q(username=username) | (Q(ip_address=address) if address else Q(pk__in=[]))
    latest = AccessAttempt.objects.filter(match).aggregate(latest=Max("attempt_time"))["latest"]
    retry = cool_off.total_seconds()
    if latest is not None:
        retry = (latest + cool_off - timezone.now()).total_seconds()
    retry = max(1, int(retry + 0.999))
    message = (
        f"Too many failed sign-ins for this username or from your address "
        f"({settings.AXES_FAILURE_LIMIT} in a row). Try again in "
        f"{limits.in_words(retry)}."
    )
    form = AuthenticationForm(request, initial={"username": username})
    response = render(
        request,
        "registration/login.html",
        {"form": form, "refused": message, "next": request.POST.get("next", "")},
        status=429,
    )
    response["Retry-After"] = str(retry)
    return response
