"""Read what a refused request left of its body, so its keep-alive connection stays usable.

Many refusals (a bad token, an unknown id, a rate limit) come before a view reads the body. A
body left unread on a keep-alive connection would be parsed as the client's next request, so it
is read and dropped here, up to one chunk. A larger one is not worth reading: the connection is
closed after the answer instead.
"""

from flask import current_app, request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

READ_SIZE = 64 * 1024


def init_app(app):
    """Install the hook on every answer."""
    app.after_request(drain_unread_body)


def drain_unread_body(response):
    """Consume the rest of the request body, or mark the connection to be closed."""
    length = request.content_length or 0
    if not length:
        return response
    if length > current_app.config["MAX_CONTENT_LENGTH"]:
        response.headers["Connection"] = "close"
        return response
    try:
        while request.stream.read(READ_SIZE):
            pass
    except RequestEntityTooLarge:
        pass  # werkzeug's way of saying a body of exactly the cap was read to its end
    except (OSError, ClientDisconnected):
        response.headers["Connection"] = "close"
    return response
