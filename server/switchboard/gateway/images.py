"""Images sent as attachments, re-encoded with Pillow before anyone downloads them.

Re-encoding keeps the pixels and drops everything else: EXIF (a phone photo's
GPS position, the camera, the time), XMP, comments, text chunks, and whatever a
crafted file carried past its image data. The EXIF orientation is applied to
the pixels first, so the photo still stands the right way up. An image of more
than MAX_IMAGE_PIXELS pixels is refused from its header, before it is decoded:
a decompression bomb is a few kilobytes on the wire and gigabytes in memory.
CPU-bound: the caller runs it in a worker thread.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from ..domain.attachments import MAX_IMAGE_PIXELS, THUMBNAIL_SIZE, MediaType
from ..domain.errors import ErrorCode, SwitchboardError

# Pillow's own guard, for a path that decodes before our check (it raises above twice this).
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

_FORMATS = {MediaType.PNG: "PNG", MediaType.JPEG: "JPEG", MediaType.GIF: "GIF", MediaType.WEBP: "WEBP"}
#: What an encoder may take over from the decoded image's `info`: how to draw it, nothing about it
#: (Pillow's encoders read some metadata, a GIF's comment for one, from there).
_DRAWING_INFO = ("transparency", "duration", "loop", "background", "disposal")


@dataclass(frozen=True, slots=True)
class Reencoded:
    content: bytes
    thumbnail: bytes  # WebP


def reencode(data: bytes, media_type: MediaType) -> Reencoded:
    """The image again in its own format, without metadata, and its thumbnail. 413 for too many
    pixels; 415 for bytes that open like the type but are no image Pillow can decode."""
    try:
        with Image.open(io.BytesIO(data), formats=[_FORMATS[media_type]]) as opened:
            if opened.width * opened.height > MAX_IMAGE_PIXELS:
                raise SwitchboardError(
                    ErrorCode.TOO_LARGE, f"the image has more than {MAX_IMAGE_PIXELS} pixels ({opened.size})"
                )
            opened.info = {key: opened.info[key] for key in _DRAWING_INFO if key in opened.info}
            animated = media_type in (MediaType.GIF, MediaType.WEBP) and getattr(opened, "n_frames", 1) > 1
            if animated:
                # the frames are kept as they are (no orientation); only the metadata goes
                content = _save_frames(opened, media_type)
                first = opened.convert("RGBA")
            else:
                upright = ImageOps.exif_transpose(opened)
                upright.info = {key: upright.info[key] for key in _DRAWING_INFO if key in upright.info}
                first = upright
                content = _save(upright, media_type)
            return Reencoded(content, _thumbnail(first))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, Image.DecompressionBombError):
            raise SwitchboardError(ErrorCode.TOO_LARGE, f"the image has more than {MAX_IMAGE_PIXELS} pixels") from None
        raise SwitchboardError(ErrorCode.UNSUPPORTED_TYPE, f"the file is not a valid {media_type.value}") from None


def _save(image: Image.Image, media_type: MediaType) -> bytes:
    out = io.BytesIO()
    if media_type is MediaType.JPEG:
        image.convert("RGB").save(out, "JPEG", quality=90, exif=b"")
    elif media_type is MediaType.PNG:
        image.save(out, "PNG", exif=b"")  # no `pnginfo=`: no text chunks
    elif media_type is MediaType.GIF:
        image.save(out, "GIF")
    else:
        image.save(out, "WEBP", quality=90, exif=b"", xmp=b"")
    return out.getvalue()


def _save_frames(image: Image.Image, media_type: MediaType) -> bytes:
    out = io.BytesIO()
    image.save(out, _FORMATS[media_type], save_all=True, exif=b"", xmp=b"")
    return out.getvalue()


def _thumbnail(image: Image.Image) -> bytes:
    small = image.convert("RGBA") if image.mode not in ("RGB", "RGBA") else image.copy()
    small.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    out = io.BytesIO()
    small.save(out, "WEBP", quality=80)
    return out.getvalue()
