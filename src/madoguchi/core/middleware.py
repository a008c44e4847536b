"""HTTP semantics every view gets without having to remember them.

- `Cache-Control: no-store` on every response whose view did not say otherwise. Nearly every
  page carries personal data (review, print, inbox, exports, audit downloads, the API, the
  resident's own form and status pages) or a per-visitor CSRF token, so private is the
  default and a view that may be cached says so itself (`patch_cache_control`); a page
  nobody marked can then never be kept by a browser, a shared computer's cache or a proxy.
- HEAD is answered wherever GET is: the view runs as for GET (views guarded by
  `require_GET` or `require_http_methods(["GET", ...])` would otherwise answer 405) and the
  body is dropped, with the headers GET would have sent.
"""

from __future__ import annotations

NO_STORE = "no-store, private"


class HttpSemanticsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        head = request.method == "HEAD"
        if head:
            request.method = "GET"
        try:
            response = self.get_response(request)
        finally:
            if head:
                request.method = "HEAD"
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = NO_STORE
        if head:
            _drop_body(response)
        return response


def _drop_body(response) -> None:
    if response.streaming:
        # The file behind a FileResponse is still closed by response.close().
        response.streaming_content = []
        return
    length = len(response.content)
    response.content = b""
    response["Content-Length"] = str(length)
