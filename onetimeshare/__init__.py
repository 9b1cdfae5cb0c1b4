"""Client side of OneTimeShare: keys, content and metadata encryption, and links.

Everything here runs on the sender's or recipient's machine; the server never imports it, so it
never sees a key. `docs/protocol.md` is the contract this package implements.
"""

PROTOCOL_VERSION = 2
