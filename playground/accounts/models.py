"""Who a row belongs to (``Owned``), and the rate limiter's counted actions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Owned(models.Model):
    """Who a row belongs to (``playground/accounts/access.py`` decides who may see it): a signed-in
    ``owner``, or for an anonymous visitor the random ``visitor_key`` kept in their session.
    Neither (rows made before accounts, by the CLI or in the admin): staff only."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    visitor_key = models.CharField(
        max_length=64,
        blank=True,
        default="",
        db_index=True,
        help_text="the anonymous visitor (session) who made it",
    )

    class Meta:
        abstract = True


class RateLimitHit(models.Model):
    """One action counted by the rate limiter (``playground/accounts/limits.py``): a sliding window is
    the hits of a key in the last N seconds."""

    bucket = models.CharField(max_length=20)
    key = models.CharField(max_length=100)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "playground_ratelimithit"
        indexes = [
            models.Index(fields=["bucket", "key", "at"], name="playground__bucket_d0730e_idx")
        ]

    def __str__(self) -> str:
        return f"{self.bucket} {self.key} {self.at:%H:%M:%S}"
