"""The routes of the Django target: DOT's token view twice (JSON backend, form default) and the HEMS routes."""

from django.urls import path
from oauth2_provider.oauth2_backends import JSONOAuthLibCore
from oauth2_provider.views import TokenView

from django_target import views

WALLBOX = "api/partners/v2.0/org/<str:org_id>/users/<str:user_id>/wallboxes/<str:wallbox_id>/hems-sessions"


class JSONTokenView(TokenView):
    """DOT's token view reading a JSON body (the guide's `{"grant_type": "client_credentials"}`)."""

    oauthlib_backend_class = JSONOAuthLibCore


urlpatterns = [
    path("oauth2/token/", JSONTokenView.as_view()),
    path("o/token/", TokenView.as_view()),
    path(WALLBOX, views.list_sessions),
    path(WALLBOX + "/current", views.current_session),
    path(WALLBOX + "/<str:session_id>", views.session),
]

handler404 = "django_target.views.not_found"
handler500 = "django_target.views.server_error"
