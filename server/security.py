"""Add the security headers every answer carries.

The content security policy allows nothing but this origin's own scripts, styles and images, no
inline script, no framing; the referrer never leaves the page (a share URL must not leak through
a Referer header), and nothing share-related may be cached by a browser or a proxy.
"""

from flask import request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

#: Static assets are public and versioned by content; everything else may concern a share.
CACHEABLE_PREFIXES = ("/static/",)


def init_app(app):
    """Install the after-request hook that sets the headers."""
    app.after_request(add_security_headers)


def add_security_headers(response):
    """Set the security headers, and forbid caching of anything but static assets."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.path.startswith(CACHEABLE_PREFIXES):
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response
