from django.urls import path, register_converter

from . import views


class LgCodeConverter:
    """全国地方公共団体コード: six digits (the sixth is the check digit)."""

    regex = "[0-9]{6}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class TokenConverter:
    regex = "[A-Za-z0-9_-]{16,100}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class StepKeyConverter:
    regex = "[a-z][a-z0-9_]*"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(LgCodeConverter, "lg")
register_converter(TokenConverter, "token")
register_converter(StepKeyConverter, "step")

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("<lg:lg_code>/", views.municipality_home, name="municipality_home"),
    path("<lg:lg_code>/procedures/", views.procedure_list, name="procedure_list"),
    path("<lg:lg_code>/procedures/<slug:slug>/", views.procedure_detail, name="procedure_detail"),
    path("<lg:lg_code>/procedures/<slug:slug>/start/", views.start_application, name="start"),
    path("<lg:lg_code>/apply/saved/", views.resume_link_sent, name="resume_link_sent"),
    path("<lg:lg_code>/apply/check-email/", views.email_check_sent, name="email_check_sent"),
    path("<lg:lg_code>/apply/<token:token>/", views.resume, name="resume"),
    path("<lg:lg_code>/apply/<token:token>/save/", views.save_for_later, name="save"),
    path("<lg:lg_code>/apply/<token:token>/confirm/", views.confirm, name="confirm"),
    path("<lg:lg_code>/apply/<token:token>/<step:step_key>/", views.step, name="step"),
    path("<lg:lg_code>/receipt/<token:token>/", views.receipt, name="receipt"),
    path("<lg:lg_code>/status/<token:token>/", views.status, name="status"),
    path("<lg:lg_code>/status/<token:token>/withdraw/", views.withdraw, name="withdraw"),
    path("<lg:lg_code>/status/<token:token>/receipt.pdf", views.receipt_pdf, name="receipt_pdf"),
    path("<lg:lg_code>/postal/<str:code>/", views.postal_lookup, name="postal"),
]
