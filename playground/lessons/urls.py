from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="lessons"),
    path("<slug:slug>/", views.detail, name="lesson"),
]
