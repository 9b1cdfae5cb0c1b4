"""Plant a protocol v1 share made with real v1 crypto, as the server stored them before v2.

The server creates only v2 shares now, so a v1 share can only be written into Redis the way the
old create route did; its chunks are then uploaded and finalized through the API. Clients must
keep opening such links read-only until they expire (protocol.md, "Version 1").
"""

from onetimeshare.ece import Encryptor
from onetimeshare.encoding import b64u_encode
from onetimeshare.keys import derive_keys, new_password_params, new_secret
from onetimeshare.links import build_link
from onetimeshare.metadata import encrypt_metadata

V1_METADATA = {"kind": "file", "name": "old.txt", "type": "text/plain"}


def plant_v1(app, api, plaintext, password=None, downloads=1):
    """Store a v1 share holding `plaintext` on the Redis of `app`; return its link on `api`."""
    from server import store

    secret = new_secret()
    params = new_password_params() if password else None
    keys = derive_keys(secret, password, params, version=1)
    encryptor = Encryptor(keys.content_ikm)  # v1 writers padded nothing
    body = encryptor.update(plaintext) + encryptor.finalize()
    metadata = {**V1_METADATA, "size": len(plaintext)}
    chunk_size = app.config["CHUNK_SIZE"]
    declared = store.NewShare(
        version=1, size=len(body), chunk_size=chunk_size, chunks=-(-len(body) // chunk_size),
        downloads=downloads, verifier=b64u_encode(keys.access_verifier),
        metadata=encrypt_metadata(metadata, keys.metadata_key),
        password=params and {"salt": b64u_encode(params.salt), "iterations": params.iterations},
    )
    with app.app_context():
        share_id, owner_token, _ = store.create_share(
            declared, 3600, app.config["UPLOAD_IDLE_SECONDS"])
    for index in range(declared.chunks):
        api.put_chunk(share_id, owner_token, index,
                      body[index * chunk_size:(index + 1) * chunk_size])
    api.finalize(share_id, owner_token)
    return build_link(api.base_url, share_id, secret)
