"""What a file is, what it may be called and who may fetch it: domain/attachments.py, and the
re-encoding of images (gateway/images.py), without a node."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from switchboard.domain.attachments import MAX_IMAGE_PIXELS, MediaType, UrlSigner, clean_name, sniff
from switchboard.domain.errors import ErrorCode, SwitchboardError
from switchboard.gateway.images import reencode


def encoded(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (encoded(Image.new("RGB", (2, 2)), "PNG"), MediaType.PNG),
        (encoded(Image.new("RGB", (2, 2)), "JPEG"), MediaType.JPEG),
        (encoded(Image.new("RGB", (2, 2)), "GIF"), MediaType.GIF),
        (encoded(Image.new("RGB", (2, 2)), "WEBP"), MediaType.WEBP),
        (b"%PDF-1.7\n", MediaType.PDF),
        ("Grüße, 1 < 2\n".encode(), MediaType.TEXT),
        (b"\xef\xbb\xbfwith a BOM", MediaType.TEXT),
        (b"<!DOCTYPE html><p>hi", None),
        (b"  <html><body>", None),
        (b"\xef\xbb\xbf<svg xmlns='http://www.w3.org/2000/svg'/>", None),
        (b"<?xml version='1.0'?><svg/>", None),
        (b"<script>alert(1)</script>", None),
        (b"text with a NUL\0", None),
        (b"\xff\xfe\x00h", None),  # UTF-16: not UTF-8
        (b"PK\x03\x04" + bytes(40), None),  # a zip (or an office document)
        (b"MZ\x90\x00" + bytes(60), None),  # a Windows program
    ],
)
def test_the_type_is_decided_from_the_bytes(data: bytes, expected: MediaType | None) -> None:
    assert sniff(data[:8192], data) is expected


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\eve\\photo.jpg", "photo.jpg"),
        ("a\x00b\u202e\u200bc.txt", "a b c.txt"),
        ("   ..hidden  ", "hidden"),
        ("", "file"),
        ("/", "file"),
        ("x" * 300 + ".jpeg", "x" * 195 + ".jpeg"),  # the extension kept
        ("y" * 300, "y" * 200),
    ],
)
def test_a_name_loses_its_path_and_its_control_characters(given: str, shown: str) -> None:
    assert clean_name(given) == shown


def test_a_signed_url_opens_only_its_file_and_variant_until_it_expires() -> None:
    signer = UrlSigner("secret")
    signature = signer.signature("att_1", "file", 2000)
    assert signer.valid("att_1", "file", 2000, signature, now_s=1999.5)
    assert not signer.valid("att_1", "file", 2000, signature, now_s=2000.5)  # expired
    assert not signer.valid("att_1", "thumbnail", 2000, signature, now_s=0)
    assert not signer.valid("att_2", "file", 2000, signature, now_s=0)
    assert not signer.valid("att_1", "file", 3000, signature, now_s=0)  # a longer life is another URL
    assert not UrlSigner("other secret").valid("att_1", "file", 2000, signature, now_s=0)
    assert signer.url("att_1", "thumbnail", 2000).startswith("/api/v1/attachments/att_1/thumbnail?exp=2000&sig=")


def test_history_gets_fresh_urls_and_a_redacted_entry_none() -> None:
    signer = UrlSigner("secret")
    old = signer.ref("att_1", "a.png", 3, MediaType.PNG, True, 100)
    frames = [
        {
            "type": "message",
            "seq": 1,
            "attachment": {"id": "att_1", "url": old.url, "thumbnail_url": old.thumbnail_url},
        },
        {"type": "message", "seq": 2, "redacted": {"by": "admin", "at": 1}},
        {"type": "message", "seq": 3, "text": "plain"},
    ]
    signer.refresh(frames, 5000)
    assert frames[0]["attachment"]["url"] == signer.url("att_1", "file", 5000)
    assert frames[0]["attachment"]["thumbnail_url"] == signer.url("att_1", "thumbnail", 5000)
    assert "attachment" not in frames[1] and "attachment" not in frames[2]


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow's own, as it opens the header
def test_an_image_of_too_many_pixels_is_refused_before_it_is_decoded() -> None:
    # one bit a pixel, and one colour: a few kilobytes of PNG for more pixels than the limit
    bomb = encoded(Image.new("1", (MAX_IMAGE_PIXELS // 4000 + 1, 4000)), "PNG")
    assert len(bomb) < 100_000
    with pytest.raises(SwitchboardError) as refused:
        reencode(bomb, MediaType.PNG)
    assert refused.value.code is ErrorCode.TOO_LARGE


def test_bytes_that_only_start_like_an_image_are_refused() -> None:
    truncated = encoded(Image.new("RGB", (50, 50), (1, 2, 3)), "PNG")[:60]
    assert sniff(truncated) is MediaType.PNG
    with pytest.raises(SwitchboardError) as refused:
        reencode(truncated, MediaType.PNG)
    assert refused.value.code is ErrorCode.UNSUPPORTED_TYPE


def test_a_photo_stands_upright_and_keeps_nothing_but_its_pixels() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was turned; shown rotated 90°
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0)}
    out = io.BytesIO()
    Image.new("RGB", (60, 40), (200, 0, 0)).save(out, "JPEG", exif=exif.tobytes(), comment=b"taken at home")
    again = reencode(out.getvalue(), MediaType.JPEG)
    image = Image.open(io.BytesIO(again.content))
    assert image.size == (40, 60) and not image.getexif() and b"taken at home" not in again.content
    assert Image.open(io.BytesIO(again.thumbnail)).format == "WEBP"
