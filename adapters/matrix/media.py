"""Files in a room: an upload to the homeserver's media repository, then the event
that shows it (`cost report`'s chart and CSV)."""

from __future__ import annotations

import io
from typing import Any

from nio import UploadResponse

from adapters.matrix.client import MatrixClient
from adapters.matrix.errors import CONNECTION_ERRORS, MatrixUnavailable, convert


async def send_file(
    client: MatrixClient,
    room_id: str,
    data: bytes,
    filename: str,
    mimetype: str,
    image_size: tuple[int, int] | None = None,
) -> str:
    """Upload ``data`` to the media repository and post it: ``m.image`` with its
    width and height when ``image_size`` is given, else ``m.file``. In an
    encrypted room the upload is encrypted and the event carries its keys."""
    nio = client.nio
    encrypt = client.encrypted and room_id in nio.rooms and nio.rooms[room_id].encrypted
    try:
        resp, keys = await nio.upload(
            io.BytesIO(data),
            content_type="application/octet-stream" if encrypt else mimetype,
            filename=filename,
            encrypt=encrypt,
            filesize=len(data),
        )
    except CONNECTION_ERRORS as exc:
        raise MatrixUnavailable(f"upload failed: {type(exc).__name__}") from None
    if not isinstance(resp, UploadResponse):
        raise convert(resp, f"upload {filename}")
    info: dict[str, Any] = {"mimetype": mimetype, "size": len(data)}
    if image_size is not None:
        info["w"], info["h"] = image_size
    content: dict[str, Any] = {
        "msgtype": "m.image" if image_size is not None else "m.file",
        "body": filename,
        "filename": filename,
        "info": info,
    }
    if encrypt and keys is not None:
        content["file"] = {**keys, "url": resp.content_uri}
    else:
        content["url"] = resp.content_uri
    return await client.send(room_id, content)
